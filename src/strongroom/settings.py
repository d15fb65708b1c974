"""Settings: one typed, frozen object; ``load_settings`` merges defaults, a TOML file,
``STRONGROOM_*`` environment variables and command-line flags, in that order.

Nested names use ``__`` in the environment (``STRONGROOM_STORAGE__URL``); any setting may
instead be read from a file named by the same variable with ``_FILE`` appended, for secrets.
"""

from __future__ import annotations

import dataclasses
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "CryptoSettings",
    "FunctionsSettings",
    "PurgeSettings",
    "RotationSettings",
    "ServerSettings",
    "Settings",
    "SettingsError",
    "StorageSettings",
    "load_settings",
]

ENV_PREFIX = "STRONGROOM_"


class SettingsError(ValueError):
    """A setting is missing, unknown or of the wrong type."""


@dataclass(frozen=True)
class ServerSettings:
    """How the HTTP listener behaves."""

    host: str = "127.0.0.1"
    """Address to listen on. A non-loopback address requires TLS or ``allow_insecure``."""
    port: int = 8900
    """TCP port to listen on."""
    region: str = "us-east-1"
    """The AWS region this server answers as; credential scopes must name it."""
    tls_cert: str = ""
    """Path to a PEM certificate chain; enables TLS together with ``tls_key``."""
    tls_key: str = ""
    """Path to the PEM private key for ``tls_cert``."""
    allow_insecure: bool = False
    """Allow plain HTTP on a non-loopback address (not recommended)."""
    max_body_bytes: int = 1_048_576
    """Requests with a larger body are refused before it is read."""
    log_level: str = "info"
    """Log level of the server's own log (access and errors)."""


@dataclass(frozen=True)
class StorageSettings:
    """Where secrets are kept. The URL scheme picks the backend."""

    url: str = "sqlite:///strongroom.db"
    """``sqlite:///path/to/file.db`` (relative paths are under the data directory), or
    ``postgresql://user@host:port/dbname`` (any libpq URL) for a database that every node of a
    deployment shares."""
    pool_size: int = 10
    """PostgreSQL: at most this many connections per node."""


@dataclass(frozen=True)
class CryptoSettings:
    """The root of trust that wraps the key service's keys."""

    root: str = "file"
    """Which root of trust: ``file``, ``passphrase``, ``shamir`` or ``pkcs11``."""
    sealed_root_file: str = "root.sealed.json"
    """Header of a passphrase or shamir root (relative paths are under the data directory)."""
    root_key_file: str = "root.key"
    """Path to the 32-byte root key file (relative paths are under the data directory)."""
    root_key: str = ""
    """The root key itself, base64; takes precedence over ``root_key_file`` when set."""
    pkcs11_module: str = "/usr/lib/softhsm/libsofthsm2.so"
    """PKCS#11 module (shared library) of the HSM holding the root key (``root = "pkcs11"``)."""
    pkcs11_token_label: str = ""
    """Label of the PKCS#11 token that holds the root key."""
    pkcs11_pin: str = ""
    """User PIN of that token; prefer ``pkcs11_pin_file`` (``*_FILE`` indirection)."""
    pkcs11_key_label: str = "strongroom-root"
    """Label of the AES-256 root key inside the token."""


@dataclass(frozen=True)
class PurgeSettings:
    """The purger that removes secrets whose recovery window has ended."""

    interval_seconds: float = 60.0
    """How often the purger looks for secrets to remove."""
    clock_offset_file: str = ""
    """Testing aid: a file holding seconds to add to the purger's clock."""


@dataclass(frozen=True)
class RotationSettings:
    """Secret rotation: the due-rotation scheduler and testing aids."""

    workers: int = 2
    """How many scheduled rotations run at once."""
    batch: int = 20
    """How many due rotations one scheduler tick claims at most."""
    interval_seconds: float = 5.0
    """How often the scheduler looks for due rotations; after a full batch it looks again
    at once, so a backlog drains at the pool's pace."""
    allow_test_functions: bool = False
    """Testing aid: honour ``test_module`` (never turn on in production)."""
    test_module: str = ""
    """Testing aid: a Python module imported at start whose ``register(registry)`` adds
    rotation functions; only with ``allow_test_functions``."""
    webhook_endpoint_url: str = ""
    """The Secrets Manager endpoint URL sent to rotation webhooks with their role's
    credentials; empty: this server's own address (``server.host`` and ``port``)."""


@dataclass(frozen=True)
class FunctionsSettings:
    """The Lambda-compatible function API: rotation functions users deploy as zips."""

    enabled: bool = True
    """Run stored functions (Invoke, rotation through a stored function); when off, the
    API still stores functions but refuses to run them."""
    workers: int = 2
    """How many Invoke calls run at once (rotations run in the rotation pool)."""
    max_request_bytes: int = 69_905_067
    """Largest request body on the Lambda paths: a 50 MB zip, base64 in JSON, as Lambda."""
    work_dir: str = ""
    """Where the runner unpacks code and makes each process's scratch directory; empty: a
    new directory in the system's temporary directory, removed at shutdown. Relative paths
    are under the data directory, which the run-as user cannot reach: when functions run as
    ``run_as_user``, name a directory outside the data directory that it can search."""
    run_as_user: str = "nobody"
    """When the server runs as root: the OS user every function process runs as (with that
    user's primary group and no supplementary groups), so that functions cannot read the
    data directory (root key, database, TLS key)."""
    allow_same_user: bool = False
    """Run functions when the server is not root (or ``run_as_user`` is root), as the
    server's own user. Functions can then read everything the server can (the root key and
    the database: every account's secrets), so any principal allowed lambda:CreateFunction
    can; off: such a server refuses CreateFunction, Invoke and rotation through a function."""
    ca_bundle: str = ""
    """CA bundle functions use to verify this server's certificate; empty: the server's own
    certificate when it is the self-signed one of ``strongroom dev --tls``, else the
    system's CAs."""


@dataclass(frozen=True)
class Settings:
    """Everything the server needs, loaded once in the CLI and passed down."""

    data_dir: str = "."
    """Directory for the database and the root key file."""
    server: ServerSettings = field(default_factory=ServerSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    crypto: CryptoSettings = field(default_factory=CryptoSettings)
    purge: PurgeSettings = field(default_factory=PurgeSettings)
    rotation: RotationSettings = field(default_factory=RotationSettings)
    functions: FunctionsSettings = field(default_factory=FunctionsSettings)

    def path(self, p: str) -> Path:
        """Resolve ``p`` against the data directory unless it is absolute."""
        path = Path(p)
        return path if path.is_absolute() else Path(self.data_dir) / path

    def storage_backend(self) -> Literal["sqlite", "postgresql"]:
        """Which backend ``storage.url`` names; SettingsError for an unknown scheme."""
        url = self.storage.url
        if url.startswith("sqlite:///"):
            return "sqlite"
        if url.startswith(("postgresql://", "postgres://")):
            return "postgresql"
        raise SettingsError(f"unsupported storage URL scheme: {url.split(':', 1)[0]}")

    def sqlite_path(self) -> Path:
        """The database file named by ``storage.url``."""
        url = self.storage.url
        if not url.startswith("sqlite:///"):
            raise SettingsError(f"unsupported storage URL scheme: {url.split(':', 1)[0]}")
        return self.path(url[len("sqlite:///") :])


def _convert(name: str, typ: Any, value: Any) -> Any:
    if typ is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"1", "true", "yes", "on"}:
            return True
        if isinstance(value, str) and value.lower() in {"0", "false", "no", "off", ""}:
            return False
        raise SettingsError(f"{name}: expected a boolean, got {value!r}")
    if typ in (int, float):
        if isinstance(value, bool):
            raise SettingsError(f"{name}: expected a number")
        try:
            return typ(value)
        except (TypeError, ValueError) as exc:
            raise SettingsError(f"{name}: expected a number, got {value!r}") from exc
    if typ is str:
        if not isinstance(value, (str, int, float)):
            raise SettingsError(f"{name}: expected a string")
        return str(value)
    raise SettingsError(f"{name}: unsupported type")


def _build(cls: Any, data: Mapping[str, Any], prefix: str) -> Any:
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    data = dict(data)
    for key in [k for k in data if k not in known and k.endswith("_file")]:
        # NAME_FILE names a file holding the value of NAME (for secrets kept out of env/TOML).
        target = key[: -len("_file")]
        if target in known and hints[target] is str:
            try:
                data[target] = Path(str(data.pop(key))).read_text().strip()
            except OSError as exc:
                raise SettingsError(f"{prefix}{key}: cannot read file: {exc}") from exc
    unknown = set(data) - known
    if unknown:
        raise SettingsError(f"unknown setting(s): {', '.join(prefix + u for u in sorted(unknown))}")
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        typ = hints[f.name]
        if dataclasses.is_dataclass(typ):
            sub = data[f.name]
            if not isinstance(sub, Mapping):
                raise SettingsError(f"{prefix}{f.name}: expected a table")
            kwargs[f.name] = _build(typ, sub, f"{prefix}{f.name}.")
        else:
            kwargs[f.name] = _convert(prefix + f.name, typ, data[f.name])
    return cls(**kwargs)


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        elif isinstance(value, Mapping):
            base[key] = dict(value)
            _merge(base[key], {})
        else:
            base[key] = value


def _from_environ(environ: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in environ.items():
        if not key.startswith(ENV_PREFIX):
            continue
        name = key[len(ENV_PREFIX) :].lower()
        parts = name.split("__")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


def load_settings(
    environ: Mapping[str, str] | None = None,
    path: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Build Settings from defaults, then the TOML file at ``path``, then ``environ``
    (``STRONGROOM_*``), then ``overrides`` (command-line flags, nested dicts).

    Raises SettingsError for unknown names or values of the wrong type.
    """
    data: dict[str, Any] = {}
    if path is not None:
        try:
            with open(path, "rb") as fh:
                _merge(data, tomllib.load(fh))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"cannot read settings file {path}: {exc}") from exc
    if environ is not None:
        _merge(data, _from_environ(environ))
    if overrides:
        _merge(data, {k: v for k, v in overrides.items() if v is not None})
    result: Settings = _build(Settings, data, "")
    return result
