"""``strongroom rotation history SECRET``: the rotation attempts and steps of a secret, read
from the data directory as the account's administrator."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

import click

from strongroom.cli.root import open_components
from strongroom.errors import ServiceError
from strongroom.service.context import Principal, RequestContext
from strongroom.service.rotation import EVENT, ROTATION_USER
from strongroom.settings import SettingsError, load_settings

__all__ = ["rotation"]


@click.group()
def rotation() -> None:
    """Secret rotation: inspect what the rotation engine did."""


@rotation.command("history")
@click.argument("secret")
@click.option("--config", type=click.Path(dir_okay=False), help="TOML settings file.")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Data directory.")
@click.option("--account", help="Account id (taken from SECRET when it is an ARN).")
@click.option("--limit", type=int, default=100, show_default=True, help="Latest lines shown.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def history(
    secret: str,
    *,
    config: str | None,
    data_dir: str | None,
    account: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Show SECRET's rotation history, oldest first: each step started, succeeded or failed,
    and the events RotationStarted, RotationSucceeded, RotationFailed and RotationAbandoned
    with the secret's ARN and the error."""
    try:
        settings = load_settings(os.environ, config, {"data_dir": data_dir} if data_dir else {})
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from exc
    if account is None and secret.startswith("arn:"):
        account = secret.split(":")[4]
    if not account:
        raise click.UsageError("--account is required when SECRET is a name")
    components = open_components(settings)
    if components.rotation is None:
        raise click.ClickException("rotation is not available")
    ctx = RequestContext(
        Principal(account, ROTATION_USER, "strongroom-cli"), settings.server.region, "cli"
    )
    try:
        arn, lines = components.rotation.history_of(ctx, secret, limit)
    except ServiceError as exc:
        raise click.ClickException(exc.message) from exc
    finally:
        components.storage.close()
    for line in lines:
        when = datetime.fromtimestamp(line.at, UTC).isoformat(timespec="seconds")
        event = line.outcome == EVENT
        if as_json:
            fields: dict[str, str | None] = {"at": when, "version_id": line.version_id}
            if event:
                fields |= {"event": line.step, "secret_arn": arn, "error": line.detail}
            else:
                fields |= {"step": line.step, "outcome": line.outcome, "detail": line.detail}
            click.echo(json.dumps(fields))
        elif event:
            error = f"  {line.detail}" if line.detail else ""
            click.echo(f"{when}  {line.version_id}  {line.step:<17} {arn}{error}")
        else:
            detail = f"  {line.detail}" if line.detail else ""
            click.echo(f"{when}  {line.version_id}  {line.step:<17} {line.outcome}{detail}")
