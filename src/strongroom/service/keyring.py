"""Which key-service key encrypts a secret: the account's AWS managed key
``aws/secretsmanager``, created on first use, until customer managed keys arrive.
"""

from __future__ import annotations

import threading
import uuid

from strongroom.clock import Clock
from strongroom.crypto.keys import KeyService, WrappedKeyMaterial
from strongroom.errors import NotFound
from strongroom.storage.base import Storage

__all__ = ["DEFAULT_ALIAS", "Keyring"]

DEFAULT_ALIAS = "aws/secretsmanager"


class Keyring:
    """Resolves KmsKeyId values and owns start-up loading of every stored key."""

    def __init__(self, storage: Storage, keys: KeyService, clock: Clock, region: str) -> None:
        self._storage = storage
        self._keys = keys
        self._clock = clock
        self._region = region
        self._default: dict[str, str] = {}
        self._default_ids: frozenset[str] = frozenset()
        self._lock = threading.Lock()
        self._loaded_at: object = None  # the store's change token when keys were last loaded
        keys.set_miss_handler(self._reload)

    @property
    def keys(self) -> KeyService:
        return self._keys

    def load_all(self) -> None:
        """Unwrap every stored key (at start-up; again when another node has made one)."""
        token = self._storage.change_token()
        with self._storage.read() as tx:
            for rec in tx.all_key_material():
                self._keys.load(WrappedKeyMaterial(rec.key_id, rec.version, rec.wrapped))
                if rec.alias == DEFAULT_ALIAS:
                    self._default[rec.account_id] = rec.key_id
        self._loaded_at = token

    def _reload(self) -> bool:
        """A key or material version is not loaded: load the store's keys again, unless
        nothing was written since the last load (a forged or foreign ciphertext)."""
        if self._storage.change_token() == self._loaded_at:
            return False
        self.load_all()
        return True

    def default_key_ids(self) -> frozenset[str]:
        """The ids of the aws/secretsmanager keys known so far (no KMS checks apply)."""
        ids = self._default_ids
        if len(ids) != len(self._default):
            ids = self._default_ids = frozenset(self._default.values())
        return ids

    def key_arn(self, account_id: str, key_id: str) -> str:
        return f"arn:aws:kms:{self._region}:{account_id}:key/{key_id}"

    def default_key(self, account_id: str) -> str:
        """The account's aws/secretsmanager key id, created (durably) on first use."""
        key_id = self._default.get(account_id)
        if key_id is not None:
            return key_id
        with self._lock:
            key_id = self._default.get(account_id)
            if key_id is not None:
                return key_id
            # Another node may have made it: look first, since the caller may be inside a
            # write transaction (PutSecretValue), which a read joins and a write may not.
            with self._storage.read() as tx:
                existing = tx.key_by_alias(account_id, DEFAULT_ALIAS)
            if existing is not None:
                if not self._keys.has_key(existing):
                    self.load_all()
                self._default[account_id] = existing
                return existing
            with self._storage.write() as tx:
                existing = tx.key_by_alias(account_id, DEFAULT_ALIAS)
                if existing is None:
                    key_id = str(uuid.uuid4())
                    material = self._keys.create_key_material(key_id)
                    tx.insert_key(key_id, account_id, DEFAULT_ALIAS, self._clock.now())
                    tx.insert_key_material(key_id, material.version, material.blob)
                else:
                    key_id = existing
            if not self._keys.has_key(key_id):
                self.load_all()
            self._default[account_id] = key_id
            return key_id

    def resolve(self, account_id: str, kms_key_id: str | None) -> tuple[str, str | None]:
        """Map a request's KmsKeyId to (key id, KmsKeyId to show in DescribeSecret).

        Only the AWS managed key exists until the key-service issue lands; any other
        key is unknown, as AWS answers for a key that does not exist.
        """
        if kms_key_id is None or kms_key_id in {"alias/" + DEFAULT_ALIAS, ""}:
            return self.default_key(account_id), None
        default = self.default_key(account_id)
        alias_arn = f"arn:aws:kms:{self._region}:{account_id}:alias/{DEFAULT_ALIAS}"
        if kms_key_id in {default, self.key_arn(account_id, default), alias_arn}:
            return default, None
        raise NotFound("Secrets Manager can't find the specified KMS key.")
