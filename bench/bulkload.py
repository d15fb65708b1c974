"""Bulk loader for benchmarks: writes N secrets straight through the storage API.

Creating secrets through ``SecretsService.create_secret`` costs one durable transaction
(one fsync) per secret, which is far too slow for 1,000,000 secrets. This loader builds the
same rows the service would (an ARN with a random suffix, one sealed version labelled
AWSCURRENT) and commits ``batch`` secrets per write transaction.

Names follow ``secret_name(i)``: ``bench/g{i // 100:05d}/secret-{i:07d}``, so every group
prefix ``bench/gNNNNN/`` holds 100 secrets at every data-set size (used by the ListSecrets
name-filter test), and ``secret_value(i)`` is a GetSecretValue-sized JSON document.

``load_key_material`` does the same for KMS keys: customer managed keys, each with several
material versions, their material wrapped by the data dir's root key exactly as CreateKey and
RotateKeyOnDemand wrap it (used by the root rotation benchmark).

Usable as a module (``load(data_dir, account_id, n)``) or a script::

    .venv/bin/python bench/bulkload.py --data-dir D --access-key-id AKIA... --secrets 10000
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

from strongroom.crypto.envelope import Envelope, encode
from strongroom.domain import names, staging
from strongroom.http.app import build
from strongroom.settings import load_settings
from strongroom.storage.base import SecretRecord, VersionRecord
from strongroom.storage.kms_base import KmsKeyRecord

GROUP_SIZE = 100
DEFAULT_BATCH = 10_000


def secret_name(i: int) -> str:
    """The name of the i-th benchmark secret."""
    return f"bench/g{i // GROUP_SIZE:05d}/secret-{i:07d}"


def group_prefix(group: int) -> str:
    """A name prefix that matches exactly the secrets of one group (GROUP_SIZE of them)."""
    return f"bench/g{group:05d}/"


def secret_value(i: int, generation: int = 0) -> str:
    """A database-credential-like SecretString (about 150 bytes)."""
    return json.dumps(
        {
            "engine": "postgres",
            "host": f"db-{i % 97:02d}.internal.example",
            "port": 5432,
            "username": f"app_{i:07d}",
            "password": f"pw-{uuid.UUID(int=(i * 7919 + generation) % (1 << 128)).hex}",
        },
        separators=(",", ":"),
    )


def load(
    data_dir: str,
    access_key_id: str,
    n: int,
    *,
    start: int = 0,
    batch: int = DEFAULT_BATCH,
    region: str = "us-east-1",
    progress: Callable[[int, float], None] | None = None,
) -> dict[str, Any]:
    """Insert secrets ``start .. start+n-1`` into the account that owns ``access_key_id``.

    The account must exist (``strongroom account create``). Returns the account id and timings.
    """
    t_open = time.perf_counter()
    settings = load_settings({}, None, {"data_dir": data_dir, "server": {"region": region}})
    components = build(settings)
    try:
        key = components.identity.lookup(access_key_id)
        if key is None:
            raise SystemExit(f"unknown access key {access_key_id} in {data_dir}")
        account_id = key.principal.account_id
        key_id = components.keyring.default_key(account_id)
        envelope = Envelope(components.keyring.keys)
        storage = components.storage
        open_s = time.perf_counter() - t_open
        t0 = time.perf_counter()
        done = 0
        for lo in range(start, start + n, batch):
            hi = min(lo + batch, start + n)
            now = time.time()
            with storage.write() as tx:
                for i in range(lo, hi):
                    name = secret_name(i)
                    arn = names.secret_arn(region, account_id, name, names.random_suffix())
                    pk = tx.insert_secret(
                        SecretRecord(
                            pk=0,
                            account_id=account_id,
                            name=name,
                            arn=arn,
                            description=None,
                            kms_key_id=None,
                            secret_type=None,
                            owning_service=None,
                            created_at=now,
                            last_changed_at=now,
                            last_accessed_day=None,
                            deleted_at=None,
                            purge_at=None,
                            tags=(),
                        )
                    )
                    version_id = str(uuid.uuid4())
                    sealed = envelope.seal(key_id, secret_value(i).encode(), arn, version_id)
                    tx.insert_version(
                        pk, VersionRecord(version_id, encode(sealed), "string", now, None)
                    )
                    tx.set_labels(pk, {staging.AWSCURRENT: version_id})
            done = hi - start
            if progress is not None:
                progress(done, time.perf_counter() - t0)
        load_s = time.perf_counter() - t0
    finally:
        components.storage.close()
    return {
        "account_id": account_id,
        "secrets": n,
        "batch": batch,
        "open_seconds": round(open_s, 3),
        "load_seconds": round(load_s, 3),
        "secrets_per_second": round(n / load_s, 1) if load_s > 0 else None,
    }


def key_id(i: int) -> str:
    """The id of the i-th benchmark KMS key (a UUID, as CreateKey makes)."""
    return str(uuid.UUID(int=0xB3AC_0000_0000_4000_8000_0000_0000_0000 + i))


def load_key_material(
    data_dir: str,
    access_key_id: str,
    rows: int,
    *,
    versions: int = 10,
    batch: int = DEFAULT_BATCH,
    region: str = "us-east-1",
    progress: Callable[[int, float], None] | None = None,
) -> dict[str, Any]:
    """Insert ``rows`` KMS key material rows: ``rows // versions`` customer managed keys
    (default key policy, enabled) with ``versions`` material versions each, in the account
    that owns ``access_key_id``. Each material is fresh random bytes wrapped by the root key
    through the server's own ``KeyService.create_key_material`` (the CreateKey and
    RotateKeyOnDemand path), ``batch`` rows per write transaction. No kms_rotations rows
    are written (ListKeyRotations shows none): only the root-wrapped rows matter here.
    """
    if rows % versions:
        raise ValueError("rows must be a multiple of versions")
    settings = load_settings({}, None, {"data_dir": data_dir, "server": {"region": region}})
    components = build(settings)
    try:
        key = components.identity.lookup(access_key_id)
        if key is None:
            raise SystemExit(f"unknown access key {access_key_id} in {data_dir}")
        account_id = key.principal.account_id
        keys = components.keyring.keys
        storage = components.storage
        t0 = time.perf_counter()
        done = 0
        per_batch = max(1, batch // versions)
        n_keys = rows // versions
        for lo in range(0, n_keys, per_batch):
            hi = min(lo + per_batch, n_keys)
            now = time.time()
            with storage.write() as tx:
                for i in range(lo, hi):
                    kid = key_id(i)
                    tx.insert_kms_key(
                        KmsKeyRecord(
                            key_id=kid,
                            account_id=account_id,
                            alias=None,
                            created_at=now,
                            description=f"bench key {i}",
                            key_manager="CUSTOMER",
                            key_state="Enabled",
                            policy=None,
                            deletion_date=None,
                            pending_window_days=None,
                            rotation_period_days=None,
                            next_rotation=None,
                            tags=(),
                        )
                    )
                    for version in range(1, versions + 1):
                        material = keys.create_key_material(kid, version)
                        tx.insert_key_material(kid, version, material.blob)
            done = hi * versions
            if progress is not None:
                progress(done, time.perf_counter() - t0)
        load_s = time.perf_counter() - t0
    finally:
        components.storage.close()
    return {
        "keys": n_keys,
        "versions_per_key": versions,
        "rows": rows,
        "load_seconds": round(load_s, 3),
        "rows_per_second": round(rows / load_s, 1) if load_s > 0 else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--access-key-id", required=True)
    parser.add_argument("--secrets", type=int, default=10_000)
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--batch", type=int, default=DEFAULT_BATCH)
    args = parser.parse_args()

    def report(done: int, elapsed: float) -> None:
        print(f"  loaded {done:>9,} secrets in {elapsed:7.1f} s", file=sys.stderr)

    result = load(
        args.data_dir,
        args.access_key_id,
        args.secrets,
        start=args.start,
        batch=args.batch,
        progress=report,
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
