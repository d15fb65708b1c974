"""Accounts and access keys: bootstrap of the first account, and the signing-secret
lookup SigV4 needs. Secret halves are stored sealed under the root key; unsealed
copies live only in memory.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
import threading
from dataclasses import dataclass, field
from typing import Literal

from strongroom.clock import Clock
from strongroom.crypto.rootkey import RootKey
from strongroom.errors import DecryptionFailed, ExpiredToken, UnrecognizedClient
from strongroom.service.context import Principal
from strongroom.storage.base import (
    AccessKeyRecord,
    KeyUseRecord,
    ReadTx,
    SessionRecord,
    Storage,
    UserRecord,
    WriteTx,
)

__all__ = ["ADMIN_POLICY", "AccessKey", "Identity", "NewSession", "token_digest"]

ADMIN_POLICY = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'
)
_AKID_ALPHABET = string.ascii_uppercase + "234567"
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"


@dataclass(frozen=True, slots=True)
class AccessKey:
    """A long-term key, or temporary credentials (then with a token digest and expiry)."""

    principal: Principal
    secret_access_key: str = field(repr=False)
    token_digest: bytes | None = field(default=None, repr=False)
    expires_at: float | None = None


@dataclass(frozen=True, slots=True)
class NewSession:
    """Temporary credentials as handed out once by AssumeRole / GetSessionToken."""

    principal: Principal
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    expires_at: float


def _context(access_key_id: str) -> bytes:
    return f"strongroom-access-key:{access_key_id}".encode()


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _random_id(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_AKID_ALPHABET) for _ in range(16))


class Identity:
    """Access keys by id, cached in memory after the first unseal."""

    def __init__(
        self, storage: Storage, root: RootKey, clock: Clock, session_clock: Clock | None = None
    ) -> None:
        self._storage = storage
        self._root = root
        self._clock = clock
        # Judges session expiry; a test server may run it ahead of the signing clock.
        self._session_clock = session_clock or clock
        # access key id -> (key, store change token when last checked, sealed secret)
        self._cache: dict[str, tuple[AccessKey, object, bytes]] = {}
        self._lock = threading.Lock()
        self._uses: dict[str, KeyUseRecord] = {}
        # access key id -> (minute, service, region) last written
        self._written: dict[str, tuple[int, str | None, str | None]] = {}

    def lookup(self, access_key_id: str) -> AccessKey | None:
        """The active key with this id, or None (unknown or inactive).

        A deleted or deactivated key stops working on the very next request: the cached
        key is trusted only while the store reports no commit since it was checked.
        """
        token = self._storage.change_token()
        cached = self._cache.get(access_key_id)
        if cached is not None and cached[1] == token:
            return cached[0]
        with self._storage.read() as tx:
            if access_key_id.startswith("ASIA"):
                found = self._session_key(tx, access_key_id, cached)
            else:
                found = self._long_term_key(tx, access_key_id, cached)
        if found is None:
            self._cache.pop(access_key_id, None)
            return None
        key, sealed = found
        self._cache[access_key_id] = (key, token, sealed)
        return key

    def _unwrap(self, access_key_id: str, sealed: bytes) -> str | None:
        try:
            return self._root.unwrap(sealed, _context(access_key_id)).decode()
        except DecryptionFailed:
            return None

    def _long_term_key(
        self, tx: ReadTx, access_key_id: str, cached: tuple[AccessKey, object, bytes] | None
    ) -> tuple[AccessKey, bytes] | None:
        rec = tx.access_key(access_key_id)
        if rec is None or rec.status != "Active":
            return None
        if cached is not None and cached[2] == rec.sealed_secret:
            return cached[0], rec.sealed_secret  # unchanged: no need to unwrap again
        secret = self._unwrap(access_key_id, rec.sealed_secret)
        if secret is None:
            return None
        principal = Principal(rec.account_id, rec.user_name, access_key_id)
        return AccessKey(principal, secret), rec.sealed_secret

    def _session_key(
        self, tx: ReadTx, access_key_id: str, cached: tuple[AccessKey, object, bytes] | None
    ) -> tuple[AccessKey, bytes] | None:
        """Temporary credentials; gone once their role or user is deleted."""
        rec = tx.session(access_key_id)
        if rec is None:
            return None
        if rec.kind == "role":
            role = tx.role(rec.account_id, rec.name)
            if role is None:
                return None
            principal = Principal(
                rec.account_id,
                role.role_name,
                access_key_id,
                kind="assumed-role",
                session_name=rec.session_name,
                unique_id=f"{role.role_id}:{rec.session_name}",
                role_path=role.path,
                temporary=True,
            )
        else:
            user = tx.user(rec.account_id, rec.name)
            if user is None:
                return None
            principal = Principal(rec.account_id, user.user_name, access_key_id, temporary=True)
        if cached is not None and cached[2] == rec.sealed_secret:
            secret: str | None = cached[0].secret_access_key
        else:
            secret = self._unwrap(access_key_id, rec.sealed_secret)
        if secret is None:
            return None
        return AccessKey(principal, secret, rec.token_digest, rec.expires_at), rec.sealed_secret

    def authenticate(self, access_key_id: str, session_token: str | None) -> AccessKey:
        """The key SigV4 just verified for this request, after checking its session token:
        temporary credentials need theirs and expire; a long-term key takes none."""
        key = self.verified(access_key_id)
        if key is None:
            raise UnrecognizedClient()
        if key.token_digest is None:
            if session_token is not None:
                raise UnrecognizedClient()
            return key
        if session_token is None or not hmac.compare_digest(
            token_digest(session_token), key.token_digest
        ):
            raise UnrecognizedClient()
        if key.expires_at is not None and self._session_clock.now() >= key.expires_at:
            raise ExpiredToken()
        return key

    def new_session(
        self,
        tx: WriteTx,
        *,
        account_id: str,
        kind: Literal["user", "role"],
        name: str,
        duration: int,
        source_account_id: str,
        session_name: str | None = None,
        session_policy: str | None = None,
        policy_arns: tuple[str, ...] = (),
        tags: tuple[tuple[str, str], ...] = (),
    ) -> NewSession:
        """Store temporary credentials valid for ``duration`` seconds and return them with
        their secret and token, shown once (the token is kept only as its digest)."""
        akid = _random_id("ASIA")
        secret = "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40))
        token = secrets.token_urlsafe(192)
        # Stamped by the clock that judges expiry, so a test server running that clock
        # ahead still hands out credentials that work for ``duration`` seconds.
        now = self._session_clock.now()
        record = SessionRecord(
            access_key_id=akid,
            account_id=account_id,
            sealed_secret=self._root.wrap(secret.encode(), _context(akid)),
            token_digest=token_digest(token),
            kind=kind,
            name=name,
            session_name=session_name,
            created_at=now,
            expires_at=float(int(now) + duration),
            session_policy=session_policy,
            policy_arns=policy_arns,
            tags=tags,
            source_account_id=source_account_id,
        )
        tx.insert_session(record)
        principal = Principal(account_id, name, akid, temporary=True)
        return NewSession(principal, secret, token, record.expires_at)

    def purge_sessions(self) -> int:
        """Forget temporary credentials that expired (an hour's grace for clock skew)."""
        with self._storage.write() as tx:
            return tx.purge_sessions(self._session_clock.now() - 3600)

    def verified(self, access_key_id: str) -> AccessKey | None:
        """The key :meth:`lookup` checked for this same request (no second store check)."""
        cached = self._cache.get(access_key_id)
        return cached[0] if cached is not None else None

    def secret_for(self, access_key_id: str) -> str | None:
        """SigV4's lookup: the secret access key, or None."""
        key = self.lookup(access_key_id)
        return key.secret_access_key if key else None

    def new_access_key(self, tx: WriteTx, account_id: str, user_name: str) -> AccessKey:
        """Create (inside ``tx``) an active access key for an existing user."""
        akid = _random_id("AKIA")
        secret = "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40))
        tx.insert_access_key(
            AccessKeyRecord(
                access_key_id=akid,
                account_id=account_id,
                user_name=user_name,
                sealed_secret=self._root.wrap(secret.encode(), _context(akid)),
                status="Active",
                created_at=self._clock.now(),
            )
        )
        return AccessKey(Principal(account_id, user_name, akid), secret)

    def create_account(self, account_id: str | None = None, user_name: str = "admin") -> AccessKey:
        """Create an account with an administrator user and its access key."""
        with self._lock:
            if account_id is None:
                account_id = "".join(secrets.choice(string.digits) for _ in range(12))
                if account_id[0] == "0":
                    account_id = "1" + account_id[1:]
            now = self._clock.now()
            with self._storage.write() as tx:
                if not tx.account_exists(account_id):
                    tx.insert_account(account_id, now)
                if tx.user(account_id, user_name) is None:
                    tx.insert_user(UserRecord(account_id, user_name, "/", now, ()))
                    tx.put_inline_policy(
                        account_id, "user", user_name, "AdministratorAccess", ADMIN_POLICY
                    )
                return self.new_access_key(tx, account_id, user_name)

    def note_use(self, access_key_id: str, service: str, region: str) -> None:
        """Remember that a key was just used (written by :meth:`flush_use`).

        Last use is kept to the minute: a key in steady use costs one write a minute, not
        one a request, so reads are not slowed by constant commits.
        """
        now = self._clock.now()
        minute = int(now // 60)
        if self._written.get(access_key_id) == (minute, service, region):
            return
        self._uses[access_key_id] = KeyUseRecord(access_key_id, now, service, region)

    def flush_use(self) -> int:
        """Write the remembered last uses in one transaction; returns how many."""
        uses, self._uses = self._uses, {}
        if not uses:
            return 0
        with self._storage.write() as tx:
            for use in uses.values():
                tx.record_key_use(use)
        for use in uses.values():
            if use.used_at is not None:
                self._written[use.access_key_id] = (
                    int(use.used_at // 60),
                    use.service,
                    use.region,
                )
        return len(uses)
