"""Deployment packages for function tests: the template-style rotation functions under
tests/functions/<name>/, or a zip of files given as text."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import shutil
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path

FUNCTIONS = Path(__file__).parent / "functions"
TEMPLATES = ("postgres_single_user", "postgres_multi_user", "mysql_single_user", "mysql_multi_user")
HANDLER = "lambda_function.lambda_handler"
_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed timestamps: the same files give the same CodeSha256


def zip_files(files: Mapping[str, str | bytes]) -> bytes:
    """A zip holding ``files`` (name -> content), deterministic for the same input."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, _EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name])
    return buffer.getvalue()


def zip_function(name: str) -> bytes:
    """The deployment package of tests/functions/<name>; its handler is ``HANDLER``."""
    folder = FUNCTIONS / name
    if not folder.is_dir():
        raise ValueError(f"no test function named {name!r}")
    files = {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in folder.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    return zip_files(files)


def code_sha256(code: bytes) -> str:
    """Lambda's CodeSha256: the base64 of the zip's SHA-256."""
    return base64.b64encode(hashlib.sha256(code).digest()).decode()


@contextlib.contextmanager
def shared_folder() -> Iterator[Path]:
    """A folder both the tests and a function can use: functions of a server running as root
    run as an unprivileged user, which cannot reach pytest's private temporary folders."""
    folder = Path(tempfile.mkdtemp(prefix="strongroom-function-test-"))
    folder.chmod(0o1777)  # as /tmp: anyone may add files, only their owner remove them
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
