"""Settings: precedence, types, and documentation of every setting."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from strongroom.settings import SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_precedence_file_then_env_then_flags(tmp_path: Path) -> None:
    """A flag beats the environment, which beats the TOML file, which beats the default."""
    toml = tmp_path / "s.toml"
    toml.write_text('[server]\nport = 1111\nhost = "10.0.0.1"\nregion = "eu-west-1"\n')
    s = load_settings(
        {"STRONGROOM_SERVER__PORT": "2222", "STRONGROOM_SERVER__HOST": "10.0.0.2"},
        toml,
        {"server": {"port": 3333}},
    )
    assert s.server.port == 3333
    assert s.server.host == "10.0.0.2"
    assert s.server.region == "eu-west-1"
    assert s.storage.url == "sqlite:///strongroom.db"


def test_unknown_setting_is_refused() -> None:
    """A misspelt variable is an error, not silently ignored."""
    with pytest.raises(SettingsError, match=r"server\.prot"):
        load_settings({"STRONGROOM_SERVER__PROT": "1"})


def test_wrong_type_is_refused() -> None:
    """A non-numeric port is reported with the setting's name."""
    with pytest.raises(SettingsError, match=r"server\.port"):
        load_settings({"STRONGROOM_SERVER__PORT": "eighty"})


def test_file_indirection_reads_secret_from_file(tmp_path: Path) -> None:
    """X_FILE names a file whose content becomes setting X."""
    f = tmp_path / "key"
    f.write_text("c2VjcmV0\n")
    s = load_settings({"STRONGROOM_SERVER__TLS_KEY_FILE": str(f)})
    assert s.server.tls_key == "c2VjcmV0"


def _setting_names() -> list[str]:
    tree = ast.parse((ROOT / "src/strongroom/settings.py").read_text())
    sections = {
        "ServerSettings": "server.",
        "StorageSettings": "storage.",
        "CryptoSettings": "crypto.",
        "PurgeSettings": "purge.",
        "FunctionsSettings": "functions.",
        "Settings": "",
    }
    names = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name in sections:
            for item in node.body:
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    ann = ast.unparse(item.annotation)
                    if not ann.endswith("Settings"):
                        names.append(sections[node.name] + item.target.id)
    return names


def test_every_setting_is_documented() -> None:
    """docs/settings.md has a row for every setting in settings.py."""
    doc = (ROOT / "docs/settings.md").read_text()
    names = _setting_names()
    assert len(names) >= 14
    missing = [n for n in names if f"`{n}`" not in doc]
    assert missing == []
