"""``eventkit plugins``: what is loaded, from where, and what failed."""

from __future__ import annotations

import typer

from eventkit.cli.output import Format, FormatOption, render
from eventkit.plugins.manager import plugin_infos

__all__ = ["app"]

app = typer.Typer(help="Plugins: what is loaded and from where.", no_args_is_help=True)


@app.command("list")
def list_(fmt: FormatOption = Format.table) -> None:
    """Every plugin found: name, source, enabled, hooks implemented, load error."""
    rows = [
        {
            "name": i.name,
            "source": i.source,
            "location": i.location,
            "enabled": i.enabled,
            "hooks": ", ".join(h.removeprefix("eventkit_") for h in i.hooks)
            if fmt is Format.table
            else i.hooks,
            "error": i.error,
        }
        for i in plugin_infos()
    ]
    render(rows, fmt, title="plugins", empty="no plugins")
