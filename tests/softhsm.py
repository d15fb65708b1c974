"""SoftHSM2 tokens in a temporary directory, for the PKCS#11 root-key tests.

Without SoftHSM2 or python-pkcs11 the tests skip, except in CI (CI=true) where they fail:
scripts/system-deps installs SoftHSM2 there.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

import pytest

MODULE = "/usr/lib/softhsm/libsofthsm2.so"
SO_PIN = "87654321"


def require_softhsm() -> None:
    """Skip (fail in CI) unless softhsm2-util, the SoftHSM2 module and python-pkcs11 exist."""
    missing = [
        what
        for what, ok in [
            ("softhsm2-util", shutil.which("softhsm2-util") is not None),
            (MODULE, Path(MODULE).exists()),
            ("python-pkcs11", importlib.util.find_spec("pkcs11") is not None),
        ]
        if not ok
    ]
    if missing:
        message = f"SoftHSM2 tests need {', '.join(missing)} (run scripts/system-deps)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


def make_tokens(folder: Path, tokens: dict[str, str]) -> Path:
    """Initialise one token per ``label: user_pin`` under ``folder``; returns the config path.

    Point SOFTHSM2_CONF at the returned file before the module is loaded.
    """
    require_softhsm()
    token_dir = folder / "tokens"
    token_dir.mkdir(parents=True)
    conf = folder / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {token_dir}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    env = {**os.environ, "SOFTHSM2_CONF": str(conf)}
    for label, pin in tokens.items():
        subprocess.run(
            [
                "softhsm2-util",
                "--init-token",
                "--free",
                "--label",
                label,
                "--pin",
                pin,
                "--so-pin",
                SO_PIN,
            ],
            env=env,
            check=True,
            capture_output=True,
        )
    return conf
