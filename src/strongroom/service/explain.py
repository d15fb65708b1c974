"""Why a request would be allowed or denied: the operator's ``strongroom policy explain``.

The same evaluation as a real request (service/authorize.py), for a principal named by
ARN, with the secret's resource policy and tags (or a role's trust policy for
``sts:AssumeRole``) read from the store. AWS only says "denied"; this says which
statements decided.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from strongroom.domain import names, policy
from strongroom.errors import InvalidParameter
from strongroom.service.authorize import Authorizer
from strongroom.service.context import Principal, RequestContext
from strongroom.service.lookup import DEFAULT_POLICY
from strongroom.storage.base import ReadTx, Storage

__all__ = ["Explainer", "Explanation", "principal_from_arn"]

_USER = re.compile(r"arn:aws:iam::(\d{12}):user(/(?:.*/)?)([^/]+)")
_ROLE = re.compile(r"arn:aws:iam::(\d{12}):role(/(?:.*/)?)([^/]+)")
_SESSION = re.compile(r"arn:aws:sts::(\d{12}):assumed-role/([^/]+)/([^/]+)")
_BOOLEAN_KEYS = frozenset({"aws:securetransport", "aws:multifactorauthpresent"})


@dataclass(frozen=True)
class Explanation:
    request: policy.AuthzRequest
    decision: policy.Decision
    message: str | None  # AWS's AccessDenied message when denied
    considered: tuple[tuple[str, str, int], ...]  # (policy type, name, statements)


def principal_from_arn(arn: str) -> Principal:
    """A user (``...:user/name``), a role (explained as a session of it) or a role session
    (``arn:aws:sts::...:assumed-role/role/session``)."""
    if m := _USER.fullmatch(arn):
        return Principal(m.group(1), m.group(3), "-")
    if m := _ROLE.fullmatch(arn):
        return Principal(
            m.group(1),
            m.group(3),
            "-",
            kind="assumed-role",
            session_name="explain",
            role_path=m.group(2),
        )
    if m := _SESSION.fullmatch(arn):
        return Principal(m.group(1), m.group(2), "-", kind="assumed-role", session_name=m.group(3))
    raise InvalidParameter(
        f"{arn[:256]} is not a user, role or assumed-role ARN this server can explain."
    )


def _context_value(key: str, values: Sequence[str]) -> policy.ContextValue:
    if key.lower() in _BOOLEAN_KEYS and len(values) == 1:
        return values[0].lower() == "true"
    return values[0] if len(values) == 1 else list(values)


class Explainer:
    def __init__(self, storage: Storage, authz: Authorizer, region: str) -> None:
        self._storage = storage
        self._authz = authz
        self._region = region

    def _resource(
        self, tx: ReadTx, action: str, resource: str
    ) -> tuple[str | None, policy.PolicyKind, tuple[tuple[str, str], ...], dict[str, str]]:
        """(resource policy, its kind, resource tags, extra keys) for the resource."""
        if resource.startswith("arn:aws:secretsmanager:"):
            ref = names.parse_secret_id(resource)
            rec = tx.find_secret_by_arn(resource)
            if rec is None and ref.account is not None:
                rec = tx.find_secret_by_name(ref.account, ref.name)
            if rec is not None:
                return (
                    tx.policy(rec.pk, DEFAULT_POLICY),
                    "resource",
                    rec.tags,
                    {"secretsmanager:SecretId": rec.arn},
                )
        if action.lower() in {"sts:assumerole", "sts:tagsession"}:
            m = _ROLE.fullmatch(resource)
            role = tx.role(m.group(1), m.group(3)) if m else None
            if role is not None:
                return role.trust_policy, "trust", (), {}
        return None, "resource", (), {}

    def explain(
        self,
        principal_arn: str,
        action: str,
        resource: str,
        context: Mapping[str, Sequence[str]] | None = None,
    ) -> Explanation:
        principal = principal_from_arn(principal_arn)
        with self._storage.read() as tx:
            resource_policy, kind, tags, extra = self._resource(tx, action, resource)
        given = {k: _context_value(k, v) for k, v in (context or {}).items()}
        secure = given.pop("aws:SecureTransport", True)
        source_ip = given.pop("aws:SourceIp", None)
        ctx = RequestContext(
            principal,
            self._region,
            "explain",
            source_ip=str(source_ip) if source_ip is not None else None,
            secure_transport=bool(secure),
        )
        request, decision = self._authz.evaluate(
            ctx,
            action,
            resource,
            resource_policy=resource_policy,
            resource_policy_kind=kind,
            tags=tags,
            extra={**extra, **given},
        )
        identity, boundary, session = self._authz.policies_for(principal)
        considered = [("identity", p.name, len(p.statements)) for p in identity]
        if boundary is not None:
            considered.append(("boundary", boundary.name, len(boundary.statements)))
        considered.extend(("session", p.name, len(p.statements)) for p in session)
        if resource_policy is not None:
            compiled = policy.parse(resource_policy, kind)
            considered.append((kind, compiled.name or "resource policy", len(compiled.statements)))
        message = None if decision.allowed else policy.denied_message(request, decision)
        return Explanation(request, decision, message, tuple(considered))
