"""The ``strongroom`` command: ``server`` (production), ``dev`` (first-run bootstrap and
serve), ``account create`` and ``policy explain``. Settings are loaded here, once, and
passed down."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from strongroom.cli.explain import print_explanation
from strongroom.cli.hsm import pkcs11_group
from strongroom.cli.root import open_components, operator, root, unseal
from strongroom.cli.rotation import rotation
from strongroom.cli.runner import InsecureListen, serve
from strongroom.cli.store import backup, restore, store
from strongroom.cli.webhooks import function
from strongroom.crypto.rootkey import RootKeyError
from strongroom.crypto.tls import self_signed
from strongroom.errors import ServiceError
from strongroom.http.app import SEALED_ROOTS, Components, StrongroomApp, build, create_app
from strongroom.http.sealed import SealedApp
from strongroom.service.explain import Explainer
from strongroom.settings import Settings, SettingsError, load_settings

__all__ = ["main"]


def _settings(config: str | None, overrides: dict[str, Any]) -> Settings:
    try:
        return load_settings(os.environ, config, overrides)
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from exc


def _server_overrides(**flags: Any) -> dict[str, Any]:
    server = {
        "host": flags.get("host"),
        "port": flags.get("port"),
        "tls_cert": flags.get("tls_cert"),
        "tls_key": flags.get("tls_key"),
        "allow_insecure": True if flags.get("allow_insecure") else None,
        "region": flags.get("region"),
    }
    out: dict[str, Any] = {"server": {k: v for k, v in server.items() if v is not None}}
    if flags.get("data_dir"):
        out["data_dir"] = flags["data_dir"]
    if flags.get("store"):
        out["storage"] = {"url": flags["store"]}
    return out


_store_option = click.option(
    "--store",
    metavar="URL",
    help="Storage URL: sqlite:///PATH or postgresql://USER@HOST:PORT/DB (default: storage.url).",
)


_common = [
    click.option("--config", type=click.Path(dir_okay=False), help="TOML settings file."),
    click.option("--data-dir", type=click.Path(file_okay=False), help="Data directory."),
    click.option("--host", help="Address to listen on (default 127.0.0.1)."),
    click.option("--port", type=int, help="Port to listen on (default 8900)."),
    click.option("--region", help="Region to answer as (default us-east-1)."),
    click.option("--tls-cert", type=click.Path(dir_okay=False), help="PEM certificate chain."),
    click.option("--tls-key", type=click.Path(dir_okay=False), help="PEM private key."),
    click.option("--allow-insecure", is_flag=True, help="Allow plain HTTP off loopback."),
]


def _with_common(fn: Any) -> Any:
    for option in reversed(_common):
        fn = option(fn)
    return fn


@click.group()
def main() -> None:
    """Strongroom: a self-hosted secrets manager that speaks the AWS Secrets Manager API."""
    # Everything Strongroom writes (database, WAL, keys, certificates) is private to its user.
    os.umask(0o077)


@main.command()
@_with_common
@_store_option
def server(config: str | None, **flags: Any) -> None:
    """Serve the API with settings from flags, STRONGROOM_* variables or a TOML file."""
    settings = _settings(config, _server_overrides(**flags))
    try:
        if settings.crypto.root in SEALED_ROOTS:
            serve(SealedApp(settings), settings)
        else:
            serve(create_app(settings), settings)
    except (RootKeyError, SettingsError) as exc:
        raise click.ClickException(str(exc)) from None
    except InsecureListen as exc:
        raise click.UsageError(str(exc)) from exc


def _dev_credentials(components: Components) -> tuple[str, str, str]:
    """The dev account's admin key: created on first run, read back on later runs."""
    path = Path(components.settings.data_dir) / "dev-account.json"
    if path.exists():
        info = json.loads(path.read_text())
        key = components.identity.lookup(info["access_key_id"])
        if key is not None:
            return key.principal.account_id, key.principal.access_key_id, key.secret_access_key
    key = components.identity.create_account()
    # Only the key id is written here; the secret half stays sealed in the store.
    path.write_text(
        json.dumps(
            {"account_id": key.principal.account_id, "access_key_id": key.principal.access_key_id}
        )
    )
    return key.principal.account_id, key.principal.access_key_id, key.secret_access_key


@main.command()
@click.option(
    "--data-dir", type=click.Path(file_okay=False), default="strongroom-data", show_default=True
)
@click.option("--port", type=int, default=8900, show_default=True)
@click.option("--tls", is_flag=True, help="Serve HTTPS with a generated self-signed certificate.")
@_store_option
def dev(data_dir: str, port: int, tls: bool, store: str | None) -> None:
    """First run: create data dir, root key, account and admin key; print exports; serve."""
    overrides: dict[str, Any] = {"data_dir": data_dir, "server": {"port": port}}
    if store:
        overrides["storage"] = {"url": store}
    settings = _settings(None, overrides)
    scheme = "http"
    if tls:
        # The data directory first, private, before anything is created inside it.
        Path(settings.data_dir).mkdir(parents=True, exist_ok=True, mode=0o700)
        cert, key = self_signed(Path(settings.data_dir))
        overrides["server"].update(tls_cert=str(cert), tls_key=str(key))
        settings = _settings(None, overrides)
        scheme = "https"
    try:
        components = build(settings)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    account, akid, secret = _dev_credentials(components)
    host = settings.server.host
    click.echo(f"# Strongroom dev server: account {account}, data in {settings.data_dir}", err=True)
    click.echo(f"export AWS_ENDPOINT_URL={scheme}://{host}:{settings.server.port}")
    click.echo(f"export AWS_ACCESS_KEY_ID={akid}")
    click.echo(f"export AWS_SECRET_ACCESS_KEY={secret}")
    click.echo(f"export AWS_DEFAULT_REGION={settings.server.region}")
    if tls:
        click.echo(f"export AWS_CA_BUNDLE={settings.path('tls/cert.pem')}")
    click.echo("# then: aws secretsmanager list-secrets", err=True)
    sys.stdout.flush()
    serve(StrongroomApp(components), settings)


@main.group()
def account() -> None:
    """Operator commands for accounts."""


@account.command("create")
@_with_common
def account_create(config: str | None, **flags: Any) -> None:
    """Create an account with an administrator user and print its access key."""
    settings = _settings(config, _server_overrides(**flags))
    components = open_components(settings)
    key = components.identity.create_account()
    click.echo(f"# account {key.principal.account_id}", err=True)
    click.echo(f"export AWS_ACCESS_KEY_ID={key.principal.access_key_id}")
    click.echo(f"export AWS_SECRET_ACCESS_KEY={key.secret_access_key}")
    components.storage.close()


@main.group()
def policy() -> None:
    """Operator commands for policies."""


def _parse_context(items: tuple[str, ...]) -> dict[str, list[str]]:
    context: dict[str, list[str]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected key=value, got {item!r}", param_hint="--context")
        context.setdefault(key, []).append(value)
    return context


@policy.command("explain")
@click.option("--principal", required=True, help="User, role or assumed-role ARN.")
@click.option("--action", required=True, help="For example secretsmanager:GetSecretValue.")
@click.option("--resource", required=True, help="Secret ARN (or role ARN for sts:AssumeRole).")
@click.option(
    "--context",
    "context_items",
    multiple=True,
    metavar="KEY=VALUE",
    help="A condition key's value (repeat a key for a list), e.g. aws:SourceIp=10.0.0.1.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the explanation as JSON.")
@_with_common
def policy_explain(
    config: str | None,
    *,
    principal: str,
    action: str,
    resource: str,
    context_items: tuple[str, ...],
    as_json: bool,
    **flags: Any,
) -> None:
    """Print the decision for one request and the statements that decided it."""
    settings = _settings(config, _server_overrides(**flags))
    components = build(settings)
    explainer = Explainer(components.storage, components.authz, settings.server.region)
    try:
        found = explainer.explain(principal, action, resource, _parse_context(context_items))
    except ServiceError as exc:
        raise click.UsageError(exc.message) from exc
    finally:
        components.storage.close()
    print_explanation(found, as_json=as_json)
    sys.exit(0 if found.decision.allowed else 1)


main.add_command(pkcs11_group)
main.add_command(operator)
main.add_command(unseal)
main.add_command(root)
main.add_command(rotation)
main.add_command(function)
main.add_command(store)
main.add_command(backup)
main.add_command(restore)


if __name__ == "__main__":
    main()
