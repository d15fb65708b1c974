"""Printing a policy explanation: a verdict, AWS's message, the deciding statements."""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.table import Table

from strongroom.service.explain import Explanation

__all__ = ["print_explanation"]


def _as_dict(found: Explanation) -> dict[str, object]:
    return {
        "allowed": found.decision.allowed,
        "reason": found.decision.reason.value,
        "message": found.message,
        "principal": found.request.principal_arn,
        "action": found.request.action,
        "resource": found.request.resource,
        "statements": [
            {"policy": s.policy, "sid": s.sid, "index": s.index, "effect": s.effect}
            for s in found.decision.statements
        ],
        "considered": [
            {"type": kind, "policy": name, "statements": count}
            for kind, name, count in found.considered
        ],
    }


def print_explanation(found: Explanation, *, as_json: bool = False) -> None:
    if as_json:
        click.echo(json.dumps(_as_dict(found), indent=2))
        return
    console = Console(highlight=False)
    req, decision = found.request, found.decision
    verdict = "[bold green]ALLOWED[/]" if decision.allowed else "[bold red]DENIED[/]"
    console.print(f"{verdict}  {req.action} on {req.resource}")
    console.print(f"principal: {req.principal_arn}")
    console.print(f"reason:    {decision.reason.value}")
    if found.message:
        console.print(f"AWS says:  {found.message}")
    if decision.statements:
        table = Table(title="Deciding statements")
        for column in ("policy", "Sid", "#", "effect"):
            table.add_column(column)
        for st in decision.statements:
            table.add_row(st.policy, st.sid or "-", str(st.index), st.effect)
        console.print(table)
    else:
        console.print("No statement matched this request (implicit deny).")
    considered = Table(title="Policies evaluated")
    for column in ("type", "policy", "statements"):
        considered.add_column(column)
    for kind, name, count in found.considered:
        considered.add_row(kind, name, str(count))
    console.print(considered)
