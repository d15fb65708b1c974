"""Accounts and access keys: bootstrap of the first account, and the signing-secret
lookup SigV4 needs. Secret halves are stored sealed under the root key; unsealed
copies live only in memory.
"""

from __future__ import annotations

import secrets
import string
import threading
from dataclasses import dataclass, field

from strongroom.clock import Clock
from strongroom.crypto.rootkey import RootKey
from strongroom.errors import DecryptionFailed
from strongroom.service.context import Principal
from strongroom.storage.base import AccessKeyRecord, KeyUseRecord, Storage, UserRecord, WriteTx

__all__ = ["ADMIN_POLICY", "AccessKey", "Identity"]

ADMIN_POLICY = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'
)
_AKID_ALPHABET = string.ascii_uppercase + "234567"
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"


@dataclass(frozen=True, slots=True)
class AccessKey:
    principal: Principal
    secret_access_key: str = field(repr=False)


def _context(access_key_id: str) -> bytes:
    return f"strongroom-access-key:{access_key_id}".encode()


class Identity:
    """Access keys by id, cached in memory after the first unseal."""

    def __init__(self, storage: Storage, root: RootKey, clock: Clock) -> None:
        self._storage = storage
        self._root = root
        self._clock = clock
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
            rec = tx.access_key(access_key_id)
        if rec is None or rec.status != "Active":
            self._cache.pop(access_key_id, None)
            return None
        if cached is not None and cached[2] == rec.sealed_secret:
            key = cached[0]  # unchanged: no need to unwrap again
        else:
            try:
                secret = self._root.unwrap(rec.sealed_secret, _context(access_key_id)).decode()
            except DecryptionFailed:
                return None
            key = AccessKey(Principal(rec.account_id, rec.user_name, access_key_id), secret)
        self._cache[access_key_id] = (key, token, rec.sealed_secret)
        return key

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
        akid = "AKIA" + "".join(secrets.choice(_AKID_ALPHABET) for _ in range(16))
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
                    tx.put_user_policy(account_id, user_name, "AdministratorAccess", ADMIN_POLICY)
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
