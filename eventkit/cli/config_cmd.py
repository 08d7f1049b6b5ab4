"""``eventkit config``: show the effective configuration."""

from __future__ import annotations

import json
import sys
from typing import Any

import typer

from eventkit.cli.context import state
from eventkit.cli.output import Format, FormatOption, render
from eventkit.config import masked

__all__ = ["app"]

app = typer.Typer(help="Inspect configuration.", no_args_is_help=True)


def _flatten(data: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for key, value in data.items():
        if isinstance(value, dict):
            out += _flatten(value, f"{prefix}{key}.")
        else:
            out.append((prefix + key, value))
    return out


@app.command("show")
def show(ctx: typer.Context, fmt: FormatOption = Format.table) -> None:
    """Print the effective configuration (file + environment), secrets masked."""
    settings = state(ctx).settings
    data = masked(settings)
    if fmt is Format.json:
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return
    rows = _flatten(data)
    if fmt is Format.csv:
        sys.stdout.write("key,value\n" + "".join(f"{k},{json.dumps(v)}\n" for k, v in rows))
        return
    render(
        [{"key": k, "value": json.dumps(v)} for k, v in rows],
        fmt,
        title=f"configuration (from {settings.source})",
    )
