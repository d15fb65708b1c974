"""The one place that decides allow or deny for every call: the caller's identity policies
and the resource's policy, evaluated as AWS evaluates them (domain/policy.py).

Policies are compiled once and cached until the store reports a change, so a new Deny or a
removed Allow applies to the very next request.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from strongroom.clock import Clock
from strongroom.domain import policy
from strongroom.errors import AccessDenied, MalformedPolicy
from strongroom.service.context import RequestContext
from strongroom.storage.base import Storage

__all__ = ["Authorizer"]

_RESOURCE_CACHE = 4096


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


class Authorizer:
    """Checks one action on one resource for the caller; raises AccessDenied with AWS's
    message (who, which action, which resource, and why)."""

    def __init__(self, storage: Storage, clock: Clock) -> None:
        self._storage = storage
        self._clock = clock
        self._identity: dict[
            tuple[str, str], tuple[object, tuple[policy.CompiledPolicy, ...], bool]
        ] = {}
        self._resource: dict[str, policy.CompiledPolicy] = {}
        self._lock = threading.Lock()
        self._now: tuple[int, datetime] = (-1, datetime.fromtimestamp(0, tz=UTC))

    def _identity_policies(
        self, ctx: RequestContext
    ) -> tuple[tuple[policy.CompiledPolicy, ...], bool]:
        """The caller's compiled policies, and whether they are nothing but unconditional
        Allow-everything statements (an administrator)."""
        principal = ctx.principal
        key = (principal.account_id, principal.user_name.lower())
        token = self._storage.change_token()
        cached = self._identity.get(key)
        if cached is not None and cached[0] == token:
            return cached[1], cached[2]
        with self._storage.read() as tx:
            documents = tx.user_policies(principal.account_id, principal.user_name)
        compiled = []
        for name, text in documents.items():
            try:
                compiled.append(policy.parse(text, "identity", name=name))
            except MalformedPolicy:
                continue  # refused when written; an unreadable one grants nothing
        result = tuple(compiled)
        unrestricted = bool(documents) and all(_allows_everything(t) for t in documents.values())
        self._identity[key] = (token, result, unrestricted)
        return result, unrestricted

    def _resource_policy(self, text: str) -> policy.CompiledPolicy | None:
        found = self._resource.get(text)
        if found is None:
            try:
                found = policy.parse(text, "resource")
            except MalformedPolicy:
                return None
            with self._lock:
                if len(self._resource) >= _RESOURCE_CACHE:
                    self._resource.clear()
                self._resource[text] = found
        return found

    def context_keys(
        self,
        ctx: RequestContext,
        tags: Iterable[tuple[str, str]] = (),
        extra: Mapping[str, policy.ContextValue] | None = None,
    ) -> dict[str, policy.ContextValue]:
        """The global condition keys of this request plus resource tags and ``extra``."""
        second = int(self._clock.now())
        if self._now[0] != second:  # one datetime per second, not per request
            self._now = (second, datetime.fromtimestamp(second, tz=UTC))
        keys: dict[str, policy.ContextValue] = {
            "aws:username": ctx.principal.user_name,
            "aws:userid": ctx.principal.user_id,
            "aws:CurrentTime": self._now[1],
            "aws:EpochTime": second,
            "aws:SecureTransport": ctx.secure_transport,
            "aws:RequestedRegion": ctx.region,
        }
        if ctx.source_ip is not None:
            keys["aws:SourceIp"] = ctx.source_ip
        for key, value in tags:
            keys[f"aws:ResourceTag/{key}"] = value
            keys[f"secretsmanager:ResourceTag/{key}"] = value
        if extra:
            keys.update(extra)
        return keys

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
        identity, unrestricted = self._identity_policies(ctx)
        if unrestricted and resource_policy is None:
            # Only unconditional "Allow * on *" and no resource policy that could Deny:
            # evaluation can only allow, so skip building the request (the admin's hot path).
            return
        request = policy.AuthzRequest(
            principal_arn=ctx.principal.arn,
            principal_account=ctx.account_id,
            action=action,
            resource=resource,
            resource_account=ctx.account_id,
            context=self.context_keys(ctx, tags, extra),
        )
        decision = policy.evaluate(
            request,
            identity=identity,
            resource=self._resource_policy(resource_policy) if resource_policy else None,
        )
        if not decision.allowed:
            raise AccessDenied(policy.denied_message(request, decision))
