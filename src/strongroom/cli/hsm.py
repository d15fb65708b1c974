"""``strongroom pkcs11``: create or check the root key inside a PKCS#11 token (an HSM)."""

from __future__ import annotations

import os

import click

from strongroom.crypto.pkcs11 import create_root_key, load_root_key
from strongroom.crypto.rootkey import RootKeyError
from strongroom.settings import Settings, SettingsError, load_settings

__all__ = ["pkcs11_group"]


def _settings(config: str | None) -> Settings:
    try:
        return load_settings(os.environ, config)
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from exc


_config = click.option("--config", type=click.Path(dir_okay=False), help="TOML settings file.")


@click.group("pkcs11")
def pkcs11_group() -> None:
    """The root key in an HSM, from the crypto.pkcs11_* settings."""


@pkcs11_group.command("create")
@_config
def create(config: str | None) -> None:
    """Generate the AES-256 root key inside the token unless it exists; print its key id."""
    try:
        key, created = create_root_key(_settings(config))
    except RootKeyError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{'created' if created else 'exists'} {key.key_id}")


@pkcs11_group.command("check")
@_config
def check(config: str | None) -> None:
    """Open the token, log in and find the root key; print its key id."""
    try:
        key = load_root_key(_settings(config))
    except RootKeyError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(key.key_id)
