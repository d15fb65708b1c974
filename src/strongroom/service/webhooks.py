"""Rotation webhooks: rotation functions that are HTTPS endpoints, for rotation code in any
language. The operator registers one under a Lambda-style name in an account (the CLI), so
that ``arn:aws:lambda:{region}:{account}:function:{name}`` names it in RotateSecret; each
step is then POSTed as JSON signed with HMAC-SHA256 (docs/webhooks.md). The signing key is
stored wrapped by the root key and shown only when it is made."""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from strongroom.clock import Clock
from strongroom.crypto.rootkey import RootKey
from strongroom.crypto.signing import new_signing_key, signature
from strongroom.domain import policy
from strongroom.errors import (
    AccessDenied,
    AlreadyExists,
    InvalidParameter,
    MalformedPolicy,
    NotFound,
)
from strongroom.service.identity import Identity
from strongroom.service.rotation import BUILTIN_PREFIX
from strongroom.service.webhook_delivery import WebhookFailed, check_url, post
from strongroom.storage.base import RoleRecord, Storage, WebhookRecord

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_TIMEOUT",
    "SESSION_SECONDS",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "TRUSTED_SERVICE",
    "NewWebhook",
    "Webhook",
    "WebhookFunction",
    "WebhookService",
    "key_context",
]

log = logging.getLogger("strongroom.webhooks")

TRUSTED_SERVICE = "lambda.amazonaws.com"
"""The service principal a webhook's role must trust: the webhook stands in for a Lambda
function, and a Lambda execution role trusts this principal."""
SESSION_SECONDS = 900
"""How long the credentials sent with one step stay valid (AssumeRole's minimum)."""
DEFAULT_TIMEOUT = 30.0
MAX_TIMEOUT = 900.0  # Lambda's own limit
TIMESTAMP_HEADER = "Strongroom-Timestamp"
SIGNATURE_HEADER = "Strongroom-Signature"
DELIVERY_HEADER = "Strongroom-Delivery"
_USER_AGENT = "Strongroom-Webhook/1"
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_ROLE_ARN = re.compile(r"arn:aws:iam::(\d{12}):role(/(?:[\x21-\x7e]*/)?)([\w+=,.@-]{1,64})")
_ARN = re.compile(r"arn:aws:lambda:([a-z0-9-]+):(\d{12}):function:([A-Za-z0-9_-]{1,64})")


def key_context(account_id: str, name: str) -> bytes:
    """What a webhook's signing key is bound to when wrapped by the root key."""
    return f"strongroom-webhook-key:{account_id}:{name}".encode()


@dataclass(frozen=True, slots=True)
class Webhook:
    """A webhook as the operator sees it (never its key)."""

    account_id: str
    name: str
    arn: str
    url: str
    role_arn: str | None
    timeout_seconds: float
    has_ca: bool
    verify_tls: bool
    created_at: float
    key_created_at: float


@dataclass(frozen=True, slots=True)
class NewWebhook:
    """A webhook with its signing key, shown once (create, rotate-key)."""

    webhook: Webhook
    signing_key: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class WebhookFunction:
    """The rotation function a webhook ARN resolves to (see RotationFunction)."""

    service: WebhookService
    account_id: str
    name: str

    def invoke(self, event: dict[str, Any]) -> None:
        self.service.deliver(self.account_id, self.name, event)


class WebhookService:
    """Register, list, delete and re-key webhooks; resolve and deliver to them."""

    def __init__(
        self,
        storage: Storage,
        root: RootKey,
        identity: Identity,
        clock: Clock,
        *,
        region: str,
        endpoint_url: str,
    ) -> None:
        self._storage = storage
        self._root = root
        self._identity = identity
        self._clock = clock
        self._region = region
        self._endpoint_url = endpoint_url

    def arn(self, account_id: str, name: str) -> str:
        return f"arn:aws:lambda:{self._region}:{account_id}:function:{name}"

    def _view(self, rec: WebhookRecord) -> Webhook:
        return Webhook(
            rec.account_id,
            rec.name,
            self.arn(rec.account_id, rec.name),
            rec.url,
            rec.role_arn,
            rec.timeout_seconds,
            rec.ca_pem is not None,
            rec.verify_tls,
            rec.created_at,
            rec.key_created_at,
        )

    # -- operator commands --------------------------------------------------------------
    def create(
        self,
        *,
        account_id: str,
        name: str,
        url: str,
        role_arn: str | None = None,
        timeout_seconds: float = DEFAULT_TIMEOUT,
        ca_pem: str | None = None,
        verify_tls: bool = True,
        allow_insecure: bool = False,
    ) -> NewWebhook:
        """Register a webhook and return it with its new signing key.

        Raises ``InvalidParameter`` for a bad name, URL, timeout or role ARN (also when
        ``verify_tls`` is off without ``allow_insecure``), ``NotFound`` for an unknown
        account or role, ``AccessDenied`` when the role does not trust
        :data:`TRUSTED_SERVICE`, ``AlreadyExists`` when the name is taken.
        """
        if not _NAME.fullmatch(name):
            raise InvalidParameter(
                "The webhook name must be 1 to 64 letters, digits, hyphens or underscores."
            )
        if name.startswith(BUILTIN_PREFIX):
            raise InvalidParameter(f"Names starting with {BUILTIN_PREFIX} are reserved.")
        check_url(url, allow_insecure=allow_insecure)
        if not verify_tls and not allow_insecure:
            raise InvalidParameter("Turning TLS verification off needs allow_insecure too.")
        if not 1 <= timeout_seconds <= MAX_TIMEOUT:
            raise InvalidParameter(f"The timeout must be between 1 and {MAX_TIMEOUT:g} seconds.")
        key = new_signing_key()
        now = self._clock.now()
        with self._storage.write() as tx:
            if not tx.account_exists(account_id):
                raise NotFound(f"Account {account_id} does not exist.")
            if role_arn is not None:
                self._trusting_role(tx.role, account_id, name, role_arn)
            if tx.webhook(account_id, name) is not None:
                raise AlreadyExists(f"A webhook named {name} already exists in this account.")
            rec = WebhookRecord(
                account_id=account_id,
                name=name,
                url=url,
                role_arn=role_arn,
                timeout_seconds=float(timeout_seconds),
                ca_pem=ca_pem,
                verify_tls=verify_tls,
                sealed_key=self._root.wrap(key.encode(), key_context(account_id, name)),
                created_at=now,
                key_created_at=now,
            )
            tx.insert_webhook(rec)
        return NewWebhook(self._view(rec), key)

    def list(self, account_id: str) -> list[Webhook]:
        """The account's webhooks, by name."""
        with self._storage.read() as tx:
            return [self._view(r) for r in tx.webhooks(account_id)]

    def get(self, account_id: str, name: str) -> Webhook:
        """One webhook; ``NotFound`` if there is none."""
        with self._storage.read() as tx:
            rec = tx.webhook(account_id, name)
        if rec is None:
            raise NotFound(f"No webhook named {name} in account {account_id}.")
        return self._view(rec)

    def delete(self, account_id: str, name: str) -> None:
        """Remove a webhook; ``NotFound`` if there is none. Secrets that name it fail to
        rotate from then on (as when a Lambda function is deleted)."""
        with self._storage.write() as tx:
            if not tx.delete_webhook(account_id, name):
                raise NotFound(f"No webhook named {name} in account {account_id}.")

    def rotate_key(self, account_id: str, name: str) -> NewWebhook:
        """Replace the signing key at once (the old one signs nothing more) and return the
        new one; ``NotFound`` if there is no such webhook."""
        key = new_signing_key()
        now = self._clock.now()
        sealed = self._root.wrap(key.encode(), key_context(account_id, name))
        with self._storage.write() as tx:
            if not tx.replace_webhook_key(account_id, name, sealed, now):
                raise NotFound(f"No webhook named {name} in account {account_id}.")
            rec = tx.webhook(account_id, name)
        assert rec is not None
        return NewWebhook(self._view(rec), key)

    # -- rotation -----------------------------------------------------------------------
    def resolve(self, arn: str) -> WebhookFunction | None:
        """The webhook ``arn`` names in this server's region, or None (for the registry)."""
        match = _ARN.fullmatch(arn)
        if match is None or match.group(1) != self._region:
            return None
        _, account_id, name = match.groups()
        with self._storage.read() as tx:
            found = tx.webhook(account_id, name) is not None
        return WebhookFunction(self, account_id, name) if found else None

    def _trusting_role(
        self,
        find: Callable[[str, str], RoleRecord | None],
        account_id: str,
        name: str,
        role_arn: str,
    ) -> RoleRecord:
        """The role ``role_arn`` names if it is in ``account_id`` and its trust policy lets
        :data:`TRUSTED_SERVICE` assume it for this webhook; else NotFound / AccessDenied /
        InvalidParameter."""
        match = _ROLE_ARN.fullmatch(role_arn)
        if match is None:
            raise InvalidParameter("The role ARN is not a valid IAM role ARN.")
        role_account, path, role_name = match.groups()
        if role_account != account_id:
            raise InvalidParameter("The role must be in the webhook's own account.")
        role = find(account_id, role_name)
        if role is None or role.path != path:
            raise NotFound(f"The role {role_arn} does not exist.")
        request = policy.AuthzRequest(
            TRUSTED_SERVICE,
            account_id,
            "sts:AssumeRole",
            role_arn,
            account_id,
            {
                "aws:SourceAccount": account_id,
                "aws:SourceArn": self.arn(account_id, name),
                "sts:RoleSessionName": name,
            },
            service_principal=TRUSTED_SERVICE,
        )
        try:
            trust: policy.CompiledPolicy | None = policy.parse(role.trust_policy, "trust")
        except MalformedPolicy:  # stored ones parsed when written; refuse if one no longer does
            trust = None
        if trust is None or not policy.evaluate(request, identity=(), resource=trust).allowed:
            raise AccessDenied(
                f"The trust policy of {role_arn} does not allow {TRUSTED_SERVICE} to assume it."
            )
        return role

    def deliver(self, account_id: str, name: str, event: dict[str, Any]) -> None:
        """POST one step to the webhook; returns on a 2xx answer, raises otherwise
        (``NotFound``, ``AccessDenied`` for the role, a ``WebhookFailed``)."""
        with self._storage.read() as tx:
            rec = tx.webhook(account_id, name)
        if rec is None:
            raise NotFound(f"No webhook named {name} in account {account_id}.")
        key = self._root.unwrap(rec.sealed_key, key_context(account_id, name)).decode()
        payload: dict[str, Any] = {
            "SecretId": event["SecretId"],
            "ClientRequestToken": event["ClientRequestToken"],
            "Step": event["Step"],
        }
        if rec.role_arn is not None:
            payload |= self._credentials(rec)
        body = json.dumps(payload, separators=(",", ":")).encode()
        timestamp = int(self._clock.now())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": _USER_AGENT,
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: "v1=" + signature(key, timestamp, body),
            DELIVERY_HEADER: str(uuid.uuid4()),
        }
        try:
            post(
                rec.url,
                body,
                headers,
                timeout=rec.timeout_seconds,
                ca_pem=rec.ca_pem,
                verify_tls=rec.verify_tls,
            )
        except WebhookFailed as exc:
            # The history keeps only the class name; the status or cause helps the operator.
            # Never the URL (it may hold a token) or the body (it may hold credentials).
            log.warning(
                "webhook %s failed at %s: %s", self.arn(account_id, name), payload["Step"], exc
            )
            raise

    def _credentials(self, rec: WebhookRecord) -> dict[str, Any]:
        """Temporary credentials for the webhook's role, as AssumeRole would mint them for
        the session ``rec.name``, with the endpoint and region to use them against."""
        assert rec.role_arn is not None
        with self._storage.write() as tx:
            role = self._trusting_role(tx.role, rec.account_id, rec.name, rec.role_arn)
            session = self._identity.new_session(
                tx,
                account_id=rec.account_id,
                kind="role",
                name=role.role_name,
                duration=SESSION_SECONDS,
                source_account_id=rec.account_id,
                session_name=rec.name,
            )
        expires = datetime.fromtimestamp(session.expires_at, UTC)
        return {
            "Credentials": {
                "AccessKeyId": session.principal.access_key_id,
                "SecretAccessKey": session.secret_access_key,
                "SessionToken": session.session_token,
                "Expiration": expires.isoformat().replace("+00:00", "Z"),
            },
            "Endpoint": self._endpoint_url,
            "Region": self._region,
        }
