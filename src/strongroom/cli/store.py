"""``strongroom store migrate``, ``strongroom backup`` and ``strongroom restore``."""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from strongroom.cli.root import unseal_ring
from strongroom.crypto.rootkey import RootKey, RootKeyError
from strongroom.http.app import SEALED_ROOTS, load_root_key
from strongroom.service import store_transfer
from strongroom.settings import Settings, SettingsError, load_settings
from strongroom.storage.sqlite import SqliteStorage

__all__ = ["backup", "open_store", "restore", "store"]


def open_store(url: str, data_dir: str | Path) -> Any:
    """The store a ``sqlite:///path`` (relative to ``data_dir``) or ``postgresql://`` URL
    names, opened (and migrated to the current schema)."""
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///") :])
        if not path.is_absolute():
            path = Path(data_dir) / path
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        return SqliteStorage(path)
    if url.startswith(("postgresql://", "postgres://")):
        module = importlib.import_module("strongroom.storage.postgres")
        return module.PostgresStorage(url)
    raise click.UsageError("a store URL is sqlite:///PATH or postgresql://...")


def _redacted(url: str) -> str:
    """The URL without a password, for messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':', 1)[0]}@{host}"
    return url


@contextmanager
def _progress(total: int | None, what: str) -> Iterator[_Advance]:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=None, transient=False) as bar:
        yield _Advance(bar, bar.add_task(what, total=total), what)


class _Advance:
    """A progress callback (table, rows) that can learn its total late."""

    def __init__(self, bar: Progress, task: TaskID, what: str) -> None:
        self._bar, self._task, self._what = bar, task, what

    def __call__(self, table: str, rows: int) -> None:
        self._bar.update(self._task, advance=rows, description=f"{self._what} {table}")

    def total(self, rows: int) -> None:
        self._bar.update(self._task, total=rows)


def _settings(config: str | None, data_dir: str | None, store_url: str | None) -> Settings:
    overrides: dict[str, Any] = {}
    if data_dir:
        overrides["data_dir"] = data_dir
    if store_url:
        overrides["storage"] = {"url": store_url}
    try:
        return load_settings(os.environ, config, overrides)
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from exc


def _root(settings: Settings) -> RootKey:
    if settings.crypto.root in SEALED_ROOTS:
        return unseal_ring(settings)
    try:
        return load_root_key(settings)[0]
    except (RootKeyError, SettingsError) as exc:
        raise click.ClickException(str(exc)) from None


def _close(store: Any) -> None:
    close = getattr(store, "close", None)
    if close is not None:
        close()


@click.group()
def store() -> None:
    """Operator commands for the store."""


@store.command("migrate")
@click.option("--from", "source", required=True, help="sqlite:///PATH or postgresql://...")
@click.option("--to", "dest", required=True, help="An empty store: sqlite:///... or postgresql://")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False),
    default=".",
    show_default=True,
    help="Where relative sqlite paths are.",
)
def store_migrate(source: str, dest: str, data_dir: str) -> None:
    """Copy a deployment from one store to another without decrypting anything.

    Stop the servers on the source first (or accept that writes made during the copy are
    not in it): the copy is one consistent snapshot. Nodes on the new store need the same
    root of trust (key file, passphrase or HSM key) as before.
    """
    src = open_store(source, data_dir)
    dst = open_store(dest, data_dir)
    try:
        total = sum(store_transfer.row_counts(src).values())
        with _progress(total, "copying") as advance:
            counts = store_transfer.migrate(src, dst, advance)
    except store_transfer.TransferError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        _close(src)
        _close(dst)
    click.echo(
        f"copied {sum(counts.values())} rows in {len(counts)} tables "
        f"from {_redacted(source)} to {_redacted(dest)}",
        err=True,
    )


_common = [
    click.option("--config", type=click.Path(dir_okay=False), help="TOML settings file."),
    click.option("--data-dir", type=click.Path(file_okay=False), help="Data directory."),
    click.option("--store", "store_url", help="Store URL (default: the storage.url setting)."),
]


def _with_common(fn: Any) -> Any:
    for option in reversed(_common):
        fn = option(fn)
    return fn


@click.command()
@_with_common
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False))
def backup(config: str | None, data_dir: str | None, store_url: str | None, out_path: str) -> None:
    """Write a consistent, encrypted and authenticated snapshot of the store to a file.

    Restoring it needs the same root of trust: keep the key file (or passphrase, or HSM
    key) apart from the backup."""
    settings = _settings(config, data_dir, store_url)
    root = _root(settings)
    source = open_store(settings.storage.url, settings.data_dir)
    out = Path(out_path)
    partial = out.with_name(out.name + ".partial")
    try:
        total = sum(store_transfer.row_counts(source).values())
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh, _progress(total, "backing up") as advance:
            kind = "postgresql" if settings.storage.url.startswith("postgres") else "sqlite"
            counts = store_transfer.backup(source, root, fh, source=kind, progress=advance)
            fh.flush()
            os.fsync(fh.fileno())
        partial.replace(out)
    finally:
        _close(source)
        partial.unlink(missing_ok=True)
    click.echo(f"backed up {sum(counts.values())} rows to {out}", err=True)


@click.command()
@_with_common
@click.option("--in", "in_path", required=True, type=click.Path(dir_okay=False, exists=True))
def restore(config: str | None, data_dir: str | None, store_url: str | None, in_path: str) -> None:
    """Load a backup into a new, empty store (all or nothing)."""
    settings = _settings(config, data_dir, store_url)
    root = _root(settings)
    dest = open_store(settings.storage.url, settings.data_dir)
    try:
        with open(in_path, "rb") as fh, _progress(None, "restoring") as advance:
            counts = store_transfer.restore(dest, root, fh, advance, on_total=advance.total)
    except (store_transfer.BackupFormatError, store_transfer.TransferError) as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        _close(dest)
    click.echo(f"restored {sum(counts.values())} rows from {in_path}", err=True)
