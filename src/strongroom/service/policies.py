"""Resource policies on secrets: Put/Get/Delete/List/ValidateResourcePolicy.

Put refuses malformed policies and, under BlockPublicPolicy, broadly accessible ones; Validate
returns the findings of ``domain.policy_findings``.
"""

from __future__ import annotations

import json

from strongroom.domain import policy_findings, policy_grammar
from strongroom.errors import InvalidParameter, MalformedPolicy, NotFound, PublicPolicy
from strongroom.service.authorize import Authorizer
from strongroom.service.context import RequestContext
from strongroom.service.lookup import DEFAULT_POLICY, get_live_secret
from strongroom.service.paging import page
from strongroom.storage.base import Storage

__all__ = ["DEFAULT_POLICY", "ResourcePolicyService"]


class ResourcePolicyService:
    """The resource-policy operations; only the ``default`` policy can be written, as AWS."""

    def __init__(self, storage: Storage, authz: Authorizer) -> None:
        self._storage = storage
        self._authz = authz

    @staticmethod
    def _policy_name(policy_name: str | None, for_write: bool) -> str:
        name = policy_name or DEFAULT_POLICY
        if for_write and name != DEFAULT_POLICY:
            raise InvalidParameter("You can only attach the default resource policy.")
        return name

    def put_resource_policy(
        self,
        ctx: RequestContext,
        *,
        secret_id: str,
        resource_policy: str,
        policy_name: str | None = None,
        block_public_policy: bool | None = None,
    ) -> tuple[str, str, str]:
        name = self._policy_name(policy_name, for_write=True)
        problems = policy_grammar.check_policy(resource_policy)
        if problems:
            raise MalformedPolicy(problems[0].message)
        if block_public_policy and policy_grammar.is_public(json.loads(resource_policy)):
            # AWS's PublicPolicyException text (botocore model); it names no principal.
            raise PublicPolicy()
        with self._storage.write() as tx:
            rec = get_live_secret(
                tx,
                ctx,
                secret_id,
                authz=self._authz,
                action="secretsmanager:PutResourcePolicy",
                extra={"secretsmanager:BlockPublicPolicy": bool(block_public_policy)},
            )
            tx.put_policy(rec.pk, name, resource_policy)
        return rec.arn, rec.name, name

    def get_resource_policy(
        self, ctx: RequestContext, *, secret_id: str, policy_name: str | None = None
    ) -> tuple[str, str, str | None, str]:
        name = self._policy_name(policy_name, for_write=False)
        with self._storage.read() as tx:
            rec = get_live_secret(
                tx, ctx, secret_id, authz=self._authz, action="secretsmanager:GetResourcePolicy"
            )
            document = tx.policy(rec.pk, name)
        if document is None and name != DEFAULT_POLICY:
            raise NotFound(f"Secrets Manager can't find the resource policy {name}.")
        return rec.arn, rec.name, document, name

    def delete_resource_policy(
        self, ctx: RequestContext, *, secret_id: str, policy_name: str | None = None
    ) -> tuple[str, str, str]:
        name = self._policy_name(policy_name, for_write=True)
        with self._storage.write() as tx:
            rec = get_live_secret(
                tx, ctx, secret_id, authz=self._authz, action="secretsmanager:DeleteResourcePolicy"
            )
            tx.delete_policy(rec.pk, name)
        return rec.arn, rec.name, name

    def list_resource_policies(
        self,
        ctx: RequestContext,
        *,
        secret_id: str,
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> tuple[list[str], str | None]:
        with self._storage.read() as tx:
            rec = get_live_secret(
                tx, ctx, secret_id, authz=self._authz, action="secretsmanager:ListResourcePolicies"
            )
            found = tx.policy_names(rec.pk)
        ordered = sorted(found, key=lambda n: (n != DEFAULT_POLICY, n))
        return page(ordered, max_results, next_token)

    def validate_resource_policy(
        self, ctx: RequestContext, *, resource_policy: str, secret_id: str | None = None
    ) -> list[policy_findings.Finding]:
        """Every finding for ``resource_policy`` (grammar, Access Analyzer's checks, broad
        access, lockout); with ``secret_id``, also statements whose resources miss that secret.
        PolicyValidationPassed is ``policy_findings.validation_passed`` of the result."""
        secret_arn = None
        if secret_id is None:
            self._authz.check(ctx, "secretsmanager:ValidateResourcePolicy", "*")
        else:
            with self._storage.read() as tx:
                rec = get_live_secret(
                    tx,
                    ctx,
                    secret_id,
                    authz=self._authz,
                    action="secretsmanager:ValidateResourcePolicy",
                )
            secret_arn = rec.arn
        return policy_findings.findings(resource_policy, secret_arn)
