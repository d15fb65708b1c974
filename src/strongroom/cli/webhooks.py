"""``strongroom function webhook create|list|delete|rotate-key``: rotation functions that are
HTTPS endpoints, registered by the operator in the data directory (a running server sees
them at once, as it sees ``account create``). The signing key is printed once, on stdout."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from strongroom.cli.root import open_components
from strongroom.errors import ServiceError
from strongroom.http.app import Components
from strongroom.service.webhooks import DEFAULT_TIMEOUT, NewWebhook, Webhook, WebhookService
from strongroom.settings import SettingsError, load_settings

__all__ = ["function"]


def _options(fn: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(
        [
            click.option("--config", type=click.Path(dir_okay=False), help="TOML settings file."),
            click.option("--data-dir", type=click.Path(file_okay=False), help="Data directory."),
            click.option("--account", required=True, help="Account id (12 digits)."),
        ]
    ):
        fn = option(fn)
    return fn


def _open(config: str | None, data_dir: str | None) -> tuple[Components, WebhookService]:
    try:
        settings = load_settings(os.environ, config, {"data_dir": data_dir} if data_dir else {})
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from exc
    components = open_components(settings)
    if components.webhooks is None:
        components.storage.close()
        raise click.ClickException("webhooks are not available")
    return components, components.webhooks


def _run(components: Components, call: Callable[[], Any]) -> Any:
    try:
        return call()
    except ServiceError as exc:
        raise click.ClickException(exc.message) from None
    finally:
        components.storage.close()


def _when(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")


def _fields(hook: Webhook) -> dict[str, Any]:
    return {
        "FunctionName": hook.name,
        "FunctionArn": hook.arn,
        "Url": hook.url,
        "Role": hook.role_arn,
        "Timeout": hook.timeout_seconds,
        "CustomCA": hook.has_ca,
        "VerifyTls": hook.verify_tls,
        "Created": _when(hook.created_at),
        "KeyCreated": _when(hook.key_created_at),
    }


def _print_new(new: NewWebhook, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({**_fields(new.webhook), "SigningKey": new.signing_key}))
        return
    click.echo(f"# webhook {new.webhook.name} -> {new.webhook.url}", err=True)
    click.echo(f"FunctionArn: {new.webhook.arn}")
    click.echo(f"SigningKey: {new.signing_key}")
    click.echo("# the signing key is shown only now: give it to the receiver", err=True)


@click.group()
def function() -> None:
    """Rotation functions (named by RotationLambdaARN): webhooks."""


@function.group()
def webhook() -> None:
    """Rotation functions that are HTTPS endpoints receiving each step as signed JSON."""


@webhook.command("create")
@_options
@click.option("--name", required=True, help="Function name: the end of the ARN.")
@click.option("--url", required=True, help="https:// URL (http:// only to loopback).")
@click.option("--role-arn", help="Role whose temporary credentials each request carries.")
@click.option(
    "--timeout",
    type=float,
    default=DEFAULT_TIMEOUT,
    show_default=True,
    help="Seconds to wait for each step's answer (1-900).",
)
@click.option(
    "--ca-file",
    type=click.Path(dir_okay=False, exists=True),
    help="PEM CA bundle to trust for the URL instead of the system CAs.",
)
@click.option("--allow-insecure", is_flag=True, help="Allow plain http:// off loopback.")
@click.option(
    "--no-verify-tls", is_flag=True, help="Do not verify the certificate (needs --allow-insecure)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def create(
    config: str | None,
    data_dir: str | None,
    account: str,
    *,
    name: str,
    url: str,
    role_arn: str | None,
    timeout: float,
    ca_file: str | None,
    allow_insecure: bool,
    no_verify_tls: bool,
    as_json: bool,
) -> None:
    """Register a webhook; print its ARN and its new signing key (shown once)."""
    ca_pem = Path(ca_file).read_text() if ca_file else None
    components, service = _open(config, data_dir)
    new = _run(
        components,
        lambda: service.create(
            account_id=account,
            name=name,
            url=url,
            role_arn=role_arn,
            timeout_seconds=timeout,
            ca_pem=ca_pem,
            verify_tls=not no_verify_tls,
            allow_insecure=allow_insecure,
        ),
    )
    _print_new(new, as_json)


@webhook.command("list")
@_options
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_(config: str | None, data_dir: str | None, account: str, *, as_json: bool) -> None:
    """List the account's webhooks (never their keys)."""
    components, service = _open(config, data_dir)
    hooks: list[Webhook] = _run(components, lambda: service.list(account))
    for hook in hooks:
        if as_json:
            click.echo(json.dumps(_fields(hook)))
        else:
            role = f"  role {hook.role_arn}" if hook.role_arn else ""
            click.echo(f"{hook.arn}  {hook.url}  timeout {hook.timeout_seconds:g}s{role}")


@webhook.command("delete")
@_options
@click.option("--name", required=True, help="Function name.")
def delete(config: str | None, data_dir: str | None, account: str, *, name: str) -> None:
    """Delete a webhook; secrets that name it stop rotating until it exists again."""
    components, service = _open(config, data_dir)
    _run(components, lambda: service.delete(account, name))
    click.echo(f"# deleted {name}", err=True)


@webhook.command("rotate-key")
@_options
@click.option("--name", required=True, help="Function name.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def rotate_key(
    config: str | None, data_dir: str | None, account: str, *, name: str, as_json: bool
) -> None:
    """Replace the signing key at once and print the new one (shown once)."""
    components, service = _open(config, data_dir)
    new = _run(components, lambda: service.rotate_key(account, name))
    _print_new(new, as_json)
