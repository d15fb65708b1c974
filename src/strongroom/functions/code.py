"""Deployment packages on disk: each zip extracted once into ``<root>/<sha256 hex>/``, safely,
with directories 0755 and files 0644 (0755 when executable in the zip).

A zip is refused (``InvalidCode``, a ValueError) when it is not a zip, when an entry would land
outside the directory (absolute paths, ``..``), when it holds a symbolic link, or when it
unpacks to more than Lambda's 250 MB limit, counted on the bytes actually written, not on the
sizes the zip declares.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import os
import shutil
import stat
import threading
import uuid
import zipfile
from pathlib import Path, PurePosixPath

__all__ = ["MAX_ENTRIES", "MAX_UNZIPPED_BYTES", "CodeStore", "InvalidCode", "code_digest"]

MAX_UNZIPPED_BYTES = 262_144_000  # Lambda: 250 MB unzipped, code and layers together
MAX_ENTRIES = 100_000
_CHUNK = 1 << 16


class InvalidCode(ValueError):
    """The deployment package cannot be used; the message says why (never file contents)."""


def code_digest(code_sha256: str) -> bytes:
    """The 32-byte digest named by ``code_sha256``: Lambda's base64 form, or hex."""
    text = code_sha256.strip()
    if len(text) == 64:
        try:
            return bytes.fromhex(text)
        except ValueError:
            pass
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise InvalidCode("CodeSha256 is not a SHA-256 digest")
    return raw


class CodeStore:
    """Extracted deployment packages under ``root``; safe to share between threads and
    between processes (an extraction is renamed into place in one step)."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._lock = threading.Lock()
        self._extracting: dict[str, threading.Lock] = {}

    def directory(self, code_sha256: str, code_zip: bytes) -> Path:
        """The directory holding ``code_zip``'s files, extracting it on first use.

        Raises InvalidCode when the zip does not match ``code_sha256`` or is refused.
        """
        digest = code_digest(code_sha256)
        target = self._root / digest.hex()
        if target.is_dir():
            return target
        with self._lock:
            lock = self._extracting.setdefault(digest.hex(), threading.Lock())
        with lock:
            if target.is_dir():
                return target
            if hashlib.sha256(code_zip).digest() != digest:
                raise InvalidCode("the deployment package does not match its CodeSha256")
            self._root.mkdir(parents=True, exist_ok=True)
            staging = self._root / f".extract-{uuid.uuid4().hex}"
            try:
                extract(code_zip, staging)
                try:
                    staging.rename(target)
                except OSError:
                    if not target.is_dir():  # not another process winning the same race
                        raise
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        return target


def _safe_parts(name: str) -> tuple[str, ...]:
    if "\x00" in name:
        raise InvalidCode("the deployment package has an entry with a NUL in its name")
    path = PurePosixPath(name.replace("\\", "/"))
    parts = tuple(p for p in path.parts if p not in ("", "."))
    if path.is_absolute() or ".." in parts or (parts and ":" in parts[0]):
        raise InvalidCode(f"the deployment package has an entry outside its root: {name!r}")
    return parts


def extract(code_zip: bytes, into: Path) -> None:
    """Unpack ``code_zip`` into the new directory ``into``; InvalidCode when refused."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(code_zip))
    except (zipfile.BadZipFile, ValueError) as exc:
        raise InvalidCode(f"could not unzip the deployment package: {exc}") from None
    with archive:
        entries = archive.infolist()
        if len(entries) > MAX_ENTRIES:
            raise InvalidCode(f"the deployment package has more than {MAX_ENTRIES} entries")
        if sum(e.file_size for e in entries) > MAX_UNZIPPED_BYTES:
            raise InvalidCode(_too_large())
        into.mkdir(parents=True)
        written = 0
        for entry in entries:
            mode = entry.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise InvalidCode(
                    f"the deployment package holds a symbolic link: {entry.filename!r}"
                )
            parts = _safe_parts(entry.filename)
            if not parts:
                continue
            path = into.joinpath(*parts)
            try:
                if entry.is_dir():
                    path.mkdir(parents=True, exist_ok=True)
                    continue
                path.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(entry) as source, path.open("xb") as sink:
                    while chunk := source.read(_CHUNK):
                        written += len(chunk)
                        if written > MAX_UNZIPPED_BYTES:
                            raise InvalidCode(_too_large())
                        sink.write(chunk)
            except InvalidCode:
                raise
            except (OSError, zipfile.BadZipFile, NotImplementedError, RuntimeError) as exc:
                raise InvalidCode(
                    f"could not unzip {entry.filename!r} from the deployment package: "
                    f"{type(exc).__name__}"
                ) from None
            path.chmod(0o755 if mode & 0o111 else 0o644)
    # Readable by the user functions run as, whatever the umask (the server's is 077).
    for folder, _, _ in os.walk(into):
        os.chmod(folder, 0o755)  # noqa: S103 - code is not secret from its function's user


def _too_large() -> str:
    return f"Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes"
