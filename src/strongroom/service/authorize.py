"""The one place that decides allow or deny for every call: the caller's identity policies
and the resource's policy, evaluated as AWS evaluates them (domain/policy.py).

Policies are compiled once and cached until the store reports a change, so a new Deny or a
removed Allow applies to the very next request.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from strongroom.clock import Clock
from strongroom.domain import policy
from strongroom.errors import AccessDenied, MalformedPolicy
from strongroom.service.context import Principal, RequestContext
from strongroom.storage.base import ReadTx, Storage

__all__ = ["Authorizer"]

_RESOURCE_CACHE = 4096
_SUBJECT_CACHE = 4096
_DECISION_CACHE = 4096
_UNKNOWN = object()
# What a policy that no longer exists grants when it limits (boundary, session): nothing.
_NOTHING = '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}'


def _account_of(resource: str, default: str) -> str:
    """The account field of an ARN (``default`` for "*" or an ARN without one)."""
    parts = resource.split(":", 5)
    # "aws" owns AWS managed policies, which every account may read and attach.
    return parts[4] if len(parts) > 4 and parts[4] not in ("", "aws") else default


def _allows_everything(text: str) -> bool:
    """True for a policy made only of unconditional Allow statements on Action "*" and
    Resource "*" (AdministratorAccess), which no request context can turn into a deny."""
    try:
        doc = json.loads(text)
    except ValueError:
        return False
    statements = doc.get("Statement") if isinstance(doc, dict) else None
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        return False
    return all(
        isinstance(st, dict)
        and set(st) <= {"Sid", "Effect", "Action", "Resource"}
        and st.get("Effect") == "Allow"
        and st.get("Action") in ("*", ["*"])
        and st.get("Resource") in ("*", ["*"])
        for st in statements
    )


@dataclass(frozen=True, slots=True)
class _Subject:
    """Everything about the caller that evaluation needs, loaded once per store change."""

    token: object
    identity: tuple[policy.CompiledPolicy, ...]
    unrestricted: bool  # nothing but unconditional Allow-everything, no boundary or session
    boundary: policy.CompiledPolicy | None
    session: tuple[policy.CompiledPolicy, ...]
    tags: tuple[tuple[str, str], ...]  # aws:PrincipalTag/...
    # Decisions already made for this caller while its policies are unchanged, keyed by
    # action, resource, resource policy and the values of just the keys the policies read.
    decisions: dict[object, policy.Decision] = field(default_factory=dict, compare=False)
    # (action, id of the resource policy) -> (fingerprint function or None, that policy,
    # held so that its id is not reused while the entry lives)
    keys: dict[object, object] = field(default_factory=dict, compare=False)


def _compile(
    documents: Iterable[tuple[str, str]], kind: policy.PolicyKind
) -> tuple[policy.CompiledPolicy, ...]:
    compiled = []
    for name, text in documents:
        try:
            compiled.append(policy.parse(text, kind, name=name))
        except MalformedPolicy:
            continue  # refused when written; an unreadable one grants nothing
    return tuple(compiled)


def _default_document(tx: ReadTx, arn: str | None) -> tuple[str, str] | None:
    """(ARN, document of the default version) of a managed policy, if it exists."""
    if arn is None:
        return None
    rec = tx.managed_policy(arn)
    if rec is None:
        return None
    version = tx.policy_version(arn, rec.default_version)
    return (arn, version.document) if version is not None else None


def _load_subject(tx: ReadTx, principal: Principal, token: object) -> _Subject:
    account = principal.account_id
    boundary_doc: tuple[str, str] | None = None
    session_docs: list[tuple[str, str]] = []
    tags: tuple[tuple[str, str], ...] = ()
    if principal.kind == "assumed-role":
        documents = tx.identity_documents(account, "role", principal.user_name)
        role = tx.role(account, principal.user_name)
        if role is not None:
            boundary_doc = _default_document(tx, role.boundary_arn)
            tags = role.tags
        session = tx.session(principal.access_key_id)
        if session is not None:
            if session.session_policy is not None:
                session_docs.append(("session policy", session.session_policy))
            for arn in session.policy_arns:
                found = _default_document(tx, arn)
                # A managed session policy deleted since still limits: to nothing.
                session_docs.append(found or (arn, _NOTHING))
            merged = dict(tags)
            merged.update(session.tags)  # session tags win over the role's
            tags = tuple(merged.items())
    else:
        documents = tx.identity_documents(account, "user", principal.user_name)
        user = tx.user(account, principal.user_name)
        if user is not None:
            boundary_doc = _default_document(tx, user.boundary_arn)
            tags = user.tags
    boundary = None
    if boundary_doc is not None:
        compiled = _compile((boundary_doc,), "boundary")
        boundary = compiled[0] if compiled else policy.parse(_NOTHING, "boundary")
    session_policies = _compile(session_docs, "session")
    if session_docs and not session_policies:
        session_policies = (policy.parse(_NOTHING, "session"),)
    unrestricted = (
        bool(documents)
        and boundary is None
        and not session_docs
        and all(_allows_everything(text) for _, text in documents)
    )
    return _Subject(
        token, _compile(documents, "identity"), unrestricted, boundary, session_policies, tags
    )


class Authorizer:
    """Checks one action on one resource for the caller; raises AccessDenied with AWS's
    message (who, which action, which resource, and why)."""

    def __init__(self, storage: Storage, clock: Clock) -> None:
        self._storage = storage
        self._clock = clock
        self._subjects: dict[tuple[str, str, str, str], _Subject] = {}
        self._resource: dict[str, policy.CompiledPolicy] = {}
        self._lock = threading.Lock()
        self._now: tuple[int, datetime] = (-1, datetime.fromtimestamp(0, tz=UTC))

    def _subject(self, principal: Principal) -> _Subject:
        """The caller's policies, boundary, session policies and tags, cached until the
        store reports a change."""
        session = principal.access_key_id if principal.kind == "assumed-role" else ""
        key = (principal.account_id, principal.kind, principal.user_name.lower(), session)
        token = self._storage.change_token()
        cached = self._subjects.get(key)
        if cached is not None and cached.token == token:
            return cached
        with self._storage.read() as tx:
            subject = _load_subject(tx, principal, token)
        with self._lock:
            if len(self._subjects) >= _SUBJECT_CACHE:
                self._subjects.clear()
            self._subjects[key] = subject
        return subject

    def unrestricted(self, principal: Principal) -> bool:
        """The caller's policies are nothing but unconditional Allow-everything (no
        boundary, no session policy): any identity-side evaluation would allow."""
        return self._subject(principal).unrestricted

    def policies_for(
        self, principal: Principal
    ) -> tuple[
        tuple[policy.CompiledPolicy, ...],
        policy.CompiledPolicy | None,
        tuple[policy.CompiledPolicy, ...],
    ]:
        """The caller's identity policies, permissions boundary and session policies."""
        subject = self._subject(principal)
        return subject.identity, subject.boundary, subject.session

    def evaluate(
        self,
        ctx: RequestContext,
        action: str,
        resource: str,
        *,
        resource_policy: str | None = None,
        resource_policy_kind: policy.PolicyKind = "resource",
        resource_account: str | None = None,
        tags: Iterable[tuple[str, str]] = (),
        extra: Mapping[str, policy.ContextValue] | None = None,
    ) -> tuple[policy.AuthzRequest, policy.Decision]:
        """The full decision for ``action`` on ``resource`` (for checks and explanations)."""
        subject = self._subject(ctx.principal)
        request = self._request(
            ctx,
            subject,
            action,
            resource,
            resource_account=resource_account,
            tags=tags,
            extra=extra,
        )
        compiled = None
        if resource_policy is not None:
            compiled = self._resource_policy(resource_policy, resource_policy_kind)
        return request, self._decide(subject, request, compiled)

    def _request(
        self,
        ctx: RequestContext,
        subject: _Subject,
        action: str,
        resource: str,
        *,
        resource_account: str | None,
        tags: Iterable[tuple[str, str]],
        extra: Mapping[str, policy.ContextValue] | None,
    ) -> policy.AuthzRequest:
        principal = ctx.principal
        return policy.AuthzRequest(
            principal_arn=principal.arn,
            principal_account=principal.account_id,
            action=action,
            resource=resource,
            resource_account=resource_account or _account_of(resource, ctx.account_id),
            context=self.context_keys(ctx, tags, extra, subject.tags),
            role_arn=principal.role_arn,
        )

    def _resource_policy(
        self, text: str, kind: policy.PolicyKind = "resource"
    ) -> policy.CompiledPolicy | None:
        key = text if kind == "resource" else kind + ":" + text
        found = self._resource.get(key)
        if found is None:
            try:
                found = policy.parse(text, kind)
            except MalformedPolicy:
                return None
            with self._lock:
                if len(self._resource) >= _RESOURCE_CACHE:
                    self._resource.clear()
                self._resource[key] = found
        return found

    def context_keys(
        self,
        ctx: RequestContext,
        tags: Iterable[tuple[str, str]] = (),
        extra: Mapping[str, policy.ContextValue] | None = None,
        principal_tags: Iterable[tuple[str, str]] = (),
    ) -> dict[str, policy.ContextValue]:
        """The global condition keys of this request plus principal and resource tags and
        ``extra``."""
        second = int(self._clock.now())
        if self._now[0] != second:  # one datetime per second, not per request
            self._now = (second, datetime.fromtimestamp(second, tz=UTC))
        principal = ctx.principal
        keys: dict[str, policy.ContextValue] = {
            "aws:userid": principal.user_id,
            "aws:CurrentTime": self._now[1],
            "aws:EpochTime": second,
            "aws:SecureTransport": ctx.secure_transport,
            "aws:RequestedRegion": ctx.region,
            "aws:PrincipalType": "AssumedRole" if principal.kind == "assumed-role" else "User",
            "aws:ViaAWSService": False,
        }
        if principal.kind == "user":
            keys["aws:username"] = principal.user_name  # absent for role sessions, as AWS
        if principal.temporary:
            keys["aws:TokenIssueTime"] = self._now[1]
        for key, value in principal_tags:
            keys[f"aws:PrincipalTag/{key}"] = value
        if ctx.source_ip is not None:
            keys["aws:SourceIp"] = ctx.source_ip
        for key, value in tags:
            keys[f"aws:ResourceTag/{key}"] = value
            keys[f"secretsmanager:ResourceTag/{key}"] = value
        if extra:
            keys.update(extra)
        return keys

    def _decide(
        self,
        subject: _Subject,
        request: policy.AuthzRequest,
        resource: policy.CompiledPolicy | None,
    ) -> policy.Decision:
        """``policy.evaluate``, remembered: two requests that agree on the action, the
        resource, its policy and the values of every context key the policies read get
        the same decision (policy.fingerprinter: dates compared only by which side of the
        policies' own dates they fall), so repeats skip evaluation."""
        scope = (request.action_lower, id(resource))
        found = subject.keys.get(scope, _UNKNOWN)
        if found is _UNKNOWN:
            policies: list[policy.CompiledPolicy] = [*subject.identity, *subject.session]
            if subject.boundary is not None:
                policies.append(subject.boundary)
            if resource is not None:
                policies.append(resource)
            found = (policy.fingerprinter(policies, request.action), resource)
            if len(subject.keys) >= _DECISION_CACHE:
                # Decisions are keyed by the policy's id: forget them with the policy.
                subject.keys.clear()
                subject.decisions.clear()
            subject.keys[scope] = found
        fingerprint = found[0]  # type: ignore[index]
        cache_key: object = None
        if fingerprint is not None:
            cache_key = (scope, request.resource, request.resource_account, fingerprint(request))
            hit = subject.decisions.get(cache_key)
            if hit is not None:
                return hit
        decision = policy.evaluate(
            request,
            identity=subject.identity,
            resource=resource,
            boundary=subject.boundary,
            session=subject.session,
        )
        if cache_key is not None:
            if len(subject.decisions) >= _DECISION_CACHE:
                subject.decisions.clear()
            subject.decisions[cache_key] = decision
        return decision

    def check(
        self,
        ctx: RequestContext,
        action: str,
        resource: str,
        *,
        resource_policy: str | None = None,
        tags: Iterable[tuple[str, str]] = (),
        extra: Mapping[str, policy.ContextValue] | None = None,
    ) -> None:
        """Allow ``action`` on ``resource`` or raise AccessDenied explaining why not."""
        subject = self._subject(ctx.principal)
        if (
            subject.unrestricted
            and resource_policy is None
            and _account_of(resource, ctx.account_id) == ctx.account_id
        ):
            # Only unconditional "Allow * on *" and no resource policy that could Deny:
            # evaluation can only allow, so skip building the request (the admin's hot path).
            return
        request = self._request(
            ctx, subject, action, resource, resource_account=None, tags=tags, extra=extra
        )
        compiled = self._resource_policy(resource_policy) if resource_policy else None
        decision = self._decide(subject, request, compiled)
        if not decision.allowed:
            raise AccessDenied(policy.denied_message(request, decision))
