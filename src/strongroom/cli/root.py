"""Root-of-trust commands: ``operator init`` (passphrase or shamir root), ``unseal`` (send a
passphrase or a share to a sealed server) and ``root rotate``. Secrets are read with getpass
from a terminal, else from stdin lines; never from argv or the environment."""

from __future__ import annotations

import getpass
import json
import ssl
import sys
import time
import urllib.error
import urllib.request
from typing import Any

import click

from strongroom.crypto.passphrase import (
    SealedRootStore,
    Unsealer,
    UnsealError,
    UnsealProgress,
    init_passphrase,
    init_shamir,
)
from strongroom.crypto.rootkey import RootKeyError
from strongroom.crypto.rootring import FileRootStore, RootRing, RootStore
from strongroom.crypto.shamir import ShareError
from strongroom.http.app import SEALED_ROOTS, Components, build, sealed_store
from strongroom.service.rootrotation import rotate_root
from strongroom.settings import Settings, SettingsError
from strongroom.storage.postgres_rootwrapped import PgRootWrapped
from strongroom.storage.rootwrapped import RootWrappedRows, SqliteRootWrapped

__all__ = ["open_components", "operator", "root", "unseal", "unseal_ring"]


def _read_secret(prompt: str) -> str:
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    line = sys.stdin.readline()
    if not line:
        raise click.UsageError("no more input on stdin")
    return line.rstrip("\r\n")


def unseal_ring(settings: Settings) -> RootRing:
    """Prompt for the passphrase, or for shares until the threshold, and open the root."""
    try:
        unsealer = Unsealer(sealed_store(settings))
        prompt = "Passphrase: " if unsealer.kind == "passphrase" else "Key share: "
        while True:
            result = unsealer.submit(_read_secret(prompt))
            if not isinstance(result, UnsealProgress):
                return result
            click.echo(f"share accepted ({result.accepted} of {result.threshold})", err=True)
    except (UnsealError, RootKeyError, SettingsError) as exc:
        raise click.ClickException(str(exc)) from None


def open_components(settings: Settings) -> Components:
    """``build(settings)``, unsealing first (at the prompt) for a passphrase/shamir root."""
    if settings.crypto.root in SEALED_ROOTS:
        return build(settings, root=unseal_ring(settings))
    return build(settings)


@click.group()
def operator() -> None:
    """Operator commands for the data directory."""


@operator.command("init")
@click.option("--config", type=click.Path(dir_okay=False), help="TOML settings file.")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Data directory.")
@click.option("--root", "kind", type=click.Choice(sorted(SEALED_ROOTS)), required=True)
@click.option("--shares", type=int, default=5, show_default=True, help="Shamir: shares made.")
@click.option("--threshold", type=int, default=3, show_default=True, help="Shamir: needed.")
def operator_init(
    config: str | None, data_dir: str | None, kind: str, shares: int, threshold: int
) -> None:
    """Create a passphrase or Shamir-shared root key before the first server start."""
    from strongroom.cli.main import _settings  # noqa: PLC0415 - main imports this module

    settings = _settings(config, {"data_dir": data_dir} if data_dir else {})
    path = settings.path(settings.crypto.sealed_root_file)
    try:
        if kind == "passphrase":
            first = _read_secret("New passphrase: ")
            if sys.stdin.isatty() and first != getpass.getpass("Repeat passphrase: "):
                raise click.ClickException("the passphrases differ")
            init_passphrase(path, first)
            click.echo(f"passphrase root created in {path}", err=True)
        else:
            printed = init_shamir(path, shares, threshold)
            click.echo(
                f"# {shares} key shares, any {threshold} unseal; shown once, store apart",
                err=True,
            )
            for share in printed:
                click.echo(share)
    except (UnsealError, RootKeyError, ShareError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"# set crypto.root = {kind!r} (STRONGROOM_CRYPTO__ROOT={kind})", err=True)


@click.command()
@click.option("--endpoint", help="Server URL (default from settings: http://host:port).")
@click.option("--config", type=click.Path(dir_okay=False), help="TOML settings file.")
@click.option("--ca-bundle", type=click.Path(dir_okay=False), help="CA bundle for HTTPS.")
def unseal(endpoint: str | None, config: str | None, ca_bundle: str | None) -> None:
    """Send the passphrase, or a key share, to a sealed server."""
    from strongroom.cli.main import _settings  # noqa: PLC0415 - main imports this module

    if endpoint is None:
        s = _settings(config, {}).server
        scheme = "https" if s.tls_cert and s.tls_key else "http"
        endpoint = f"{scheme}://{s.host}:{s.port}"
    context = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else None
    sent = 0
    while True:
        if sent and not sys.stdin.isatty():
            line = sys.stdin.readline()
            if not line.strip():
                return  # every share given on stdin was accepted
            secret = line.rstrip("\r\n")
        else:
            secret = _read_secret("Passphrase or key share: ")
        sent += 1
        status, reply = _post(endpoint.rstrip("/") + "/unseal", {"key": secret}, context)
        if status != 200:
            raise click.ClickException(f"unseal refused ({status}): {reply.get('message', '')}")
        if not reply.get("sealed", True):
            click.echo("unsealed", err=True)
            return
        click.echo(
            f"share accepted ({reply.get('progress')} of {reply.get('threshold')})", err=True
        )
        if sys.stdin.isatty():
            return  # one share per call at a terminal; another holder runs unseal next


def _post(url: str, payload: dict[str, str], context: ssl.SSLContext | None) -> tuple[int, Any]:
    request = urllib.request.Request(  # noqa: S310 - operator-given server URL
        url, json.dumps(payload).encode(), {"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=60, context=context) as r:  # noqa: S310
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read() or b"{}")
        except ValueError:
            return exc.code, {}
    except OSError as exc:
        raise click.ClickException(f"cannot reach {url}: {exc}") from None


@click.group()
def root() -> None:
    """Operator commands for the root of trust."""


@root.command("rotate")
@click.option("--config", type=click.Path(dir_okay=False), help="TOML settings file.")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Data directory.")
@click.option("--batch-size", type=int, default=100, show_default=True)
@click.option(
    "--grace-seconds",
    type=float,
    default=2.0,
    show_default=True,
    help="Wait for in-flight server writes under the old root before each final pass.",
)
def root_rotate(
    config: str | None, data_dir: str | None, batch_size: int, grace_seconds: float
) -> None:
    """Re-wrap every root-wrapped key under a new root key, online; resumes if interrupted."""
    from strongroom.cli.main import _settings  # noqa: PLC0415 - main imports this module

    settings = _settings(config, {"data_dir": data_dir} if data_dir else {})
    kind = settings.crypto.root
    store: RootStore
    if kind == "file":
        if settings.crypto.root_key:
            raise click.UsageError("a root key given as a setting cannot be rotated here")
        store = FileRootStore(settings.path(settings.crypto.root_key_file))
    elif kind in SEALED_ROOTS:
        store = _sealed_store_of(unseal_ring(settings), settings)
    else:
        raise click.UsageError(f"crypto.root = {kind} cannot be rotated by this command")
    rows: RootWrappedRows
    if settings.storage_backend() == "postgresql":
        rows = PgRootWrapped(settings.storage.url)
    else:
        rows = SqliteRootWrapped(settings.sqlite_path())
    try:
        report = rotate_root(
            store, rows, batch_size=batch_size, grace_seconds=grace_seconds, sleep=time.sleep
        )
    except RootKeyError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        rows.close()
    verb = "finished an interrupted rotation" if report.resumed else "rotated"
    click.echo(
        f"{verb}: root key {report.new_key_id}, {report.rewrapped} blobs re-wrapped", err=True
    )


def _sealed_store_of(ring: RootRing, settings: Settings) -> SealedRootStore:
    store = ring.store
    if not isinstance(store, SealedRootStore):  # pragma: no cover - unseal_ring makes one
        raise click.ClickException(f"unexpected root store for {settings.crypto.root}")
    return store
