"""Bulk loader for benchmarks: writes N secrets straight through the storage API.

Creating secrets through ``SecretsService.create_secret`` costs one durable transaction
(one fsync) per secret, which is far too slow for 1,000,000 secrets. This loader builds the
same rows the service would (an ARN with a random suffix, one sealed version labelled
AWSCURRENT) and commits ``batch`` secrets per write transaction.

Names follow ``secret_name(i)``: ``bench/g{i // 100:05d}/secret-{i:07d}``, so every group
prefix ``bench/gNNNNN/`` holds 100 secrets at every data-set size (used by the ListSecrets
name-filter test), and ``secret_value(i)`` is a GetSecretValue-sized JSON document.

With ``storage_url`` (``postgresql://...``) the rows go into that PostgreSQL store instead of
the data dir's SQLite file (the data dir still holds the root key). ``load_pg_copy`` writes
the same rows into a PostgreSQL store with ``COPY`` (one COPY per table per batch, pks
allocated from the table's identity sequence), several times faster than row-by-row
INSERTs; ``run.py --pg-scale`` uses it for 1,000,000 secrets.

``load_key_material`` does the same for KMS keys: customer managed keys, each with several
material versions, their material wrapped by the data dir's root key exactly as CreateKey and
RotateKeyOnDemand wrap it (used by the root rotation benchmark).

Usable as a module (``load(data_dir, account_id, n)``) or a script::

    .venv/bin/python bench/bulkload.py --data-dir D --access-key-id AKIA... --secrets 10000
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

import psycopg

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
    storage_url: str | None = None,
) -> dict[str, Any]:
    """Insert secrets ``start .. start+n-1`` into the account that owns ``access_key_id``.

    The account must exist (``strongroom account create``). Returns the account id and timings.
    ``storage_url`` selects the store (default: the data dir's SQLite file).
    """
    t_open = time.perf_counter()
    settings = _settings(data_dir, region, storage_url)
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


def _settings(data_dir: str, region: str, storage_url: str | None) -> Any:
    overrides: dict[str, Any] = {"data_dir": data_dir, "server": {"region": region}}
    if storage_url:
        overrides["storage"] = {"url": storage_url}
    return load_settings({}, None, overrides)


def load_pg_copy(
    data_dir: str,
    access_key_id: str,
    n: int,
    storage_url: str,
    *,
    start: int = 0,
    batch: int = 100_000,
    region: str = "us-east-1",
    progress: Callable[[int, float], None] | None = None,
) -> dict[str, Any]:
    """``load`` for a PostgreSQL store, with COPY: the same rows (secrets, one sealed version
    each, its AWSCURRENT label) as ``load`` writes through the storage API.

    Each batch is one transaction that first bumps ``store_generation`` (as every write of
    the store does, so running nodes drop their caches), takes ``batch`` pks from the
    secrets' identity sequence, then COPYs the three tables. ``versions.seq`` is left to its
    default. Sealing (AES-GCM per version, as the service does) runs in this process.
    """
    t_open = time.perf_counter()
    settings = _settings(data_dir, region, storage_url)
    components = build(settings)  # migrates the schema, loads the keys
    try:
        key = components.identity.lookup(access_key_id)
        if key is None:
            raise SystemExit(f"unknown access key {access_key_id} in {data_dir}")
        account_id = key.principal.account_id
        key_id_ = components.keyring.default_key(account_id)
        envelope = Envelope(components.keyring.keys)
    finally:
        components.storage.close()
    open_s = time.perf_counter() - t_open
    t0 = time.perf_counter()
    seal_s = 0.0
    with psycopg.connect(storage_url, autocommit=True) as conn:
        for lo in range(start, start + n, batch):
            hi = min(lo + batch, start + n)
            count = hi - lo
            now = time.time()
            with conn.transaction():
                conn.execute("UPDATE store_generation SET n = n + 1 WHERE id = 1")
                pks = [
                    int(r[0])
                    for r in conn.execute(
                        "SELECT nextval(pg_get_serial_sequence('secrets', 'pk')) "
                        "FROM generate_series(1, %s)",
                        (count,),
                    )
                ]
                t_seal = time.perf_counter()
                secrets, versions = [], []
                for pk, i in zip(pks, range(lo, hi), strict=True):
                    name = secret_name(i)
                    arn = names.secret_arn(region, account_id, name, names.random_suffix())
                    version_id = str(uuid.uuid4())
                    sealed = envelope.seal(key_id_, secret_value(i).encode(), arn, version_id)
                    secrets.append((pk, account_id, name, arn, now, now, "[]"))
                    versions.append((pk, version_id, encode(sealed), "string", now))
                seal_s += time.perf_counter() - t_seal
                with conn.cursor() as cur:
                    with cur.copy(
                        "COPY secrets (pk, account_id, name, arn, created_at, last_changed_at, "
                        "tags) FROM STDIN"
                    ) as cp:
                        for row in secrets:
                            cp.write_row(row)
                    with cur.copy(
                        "COPY versions (secret_pk, version_id, sealed, kind, created_at) FROM STDIN"
                    ) as cp:
                        for version in versions:
                            cp.write_row(version)
                    with cur.copy("COPY labels (secret_pk, label, version_id) FROM STDIN") as cp:
                        for v in versions:
                            cp.write_row((v[0], staging.AWSCURRENT, v[1]))
            if progress is not None:
                progress(hi - start, time.perf_counter() - t0)
        load_s = time.perf_counter() - t0
        t_an = time.perf_counter()
        conn.execute("ANALYZE secrets, versions, labels")  # as autovacuum would, soon after
        analyze_s = time.perf_counter() - t_an
    return {
        "account_id": account_id,
        "secrets": n,
        "batch": batch,
        "method": "copy",
        "open_seconds": round(open_s, 3),
        "load_seconds": round(load_s, 3),
        "seal_seconds": round(seal_s, 3),
        "analyze_seconds": round(analyze_s, 3),
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
    parser.add_argument(
        "--store",
        default=os.environ.get("STRONGROOM_STORAGE__URL"),
        help="storage URL (default: STRONGROOM_STORAGE__URL, else the data dir's SQLite file)",
    )
    parser.add_argument(
        "--copy", action="store_true", help="PostgreSQL only: load with COPY (load_pg_copy)"
    )
    args = parser.parse_args()

    def report(done: int, elapsed: float) -> None:
        print(f"  loaded {done:>9,} secrets in {elapsed:7.1f} s", file=sys.stderr)

    if args.copy:
        if not (args.store or "").startswith("postgresql"):
            parser.error("--copy needs a postgresql:// --store")
        result = load_pg_copy(
            args.data_dir, args.access_key_id, args.secrets, args.store,
            start=args.start, batch=max(args.batch, 1), progress=report,
        )  # fmt: skip
    else:
        result = load(
            args.data_dir,
            args.access_key_id,
            args.secrets,
            start=args.start,
            batch=args.batch,
            progress=report,
            storage_url=args.store,
        )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
