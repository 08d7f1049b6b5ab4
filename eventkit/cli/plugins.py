"""``eventkit plugins``: what is loaded, from where, and what failed."""

from __future__ import annotations

from typing import Any

import typer

from eventkit.cli.output import Format, FormatOption, render
from eventkit.plugins.loader import PluginInfo
from eventkit.plugins.manager import plugin_infos

__all__ = ["app"]

app = typer.Typer(help="Plugins: what is loaded and from where.", no_args_is_help=True)


def _row(i: PluginInfo, fmt: Format) -> dict[str, Any]:
    if fmt is Format.json:
        return {
            "name": i.name,
            "source": i.source,
            "location": i.location,
            "enabled": i.enabled,
            "hooks": i.hooks,
            "error": i.error,
        }
    source = i.source if i.source == "builtin" else f"{i.source}: {i.location}"
    return {
        "name": i.name,
        "source": source,
        "enabled": "yes" if i.enabled else "no",
        "hooks": " ".join(h.removeprefix("eventkit_") for h in i.hooks),
        "error": i.error,
    }


@app.command("list")
def list_(fmt: FormatOption = Format.table) -> None:
    """Every plugin found: name, source, enabled, hooks implemented, load error."""
    render([_row(i, fmt) for i in plugin_infos()], fmt, title="plugins", empty="no plugins")
