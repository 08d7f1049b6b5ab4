"""``eventkit mirror``: the Parquet mirror the DuckDB engine reads (docs/sql.md)."""

from __future__ import annotations

import typer

from eventkit.cli.context import state
from eventkit.cli.output import Format, FormatOption, console, render_one
from eventkit.sql.mirror import mirror_root, read_state, refresh
from eventkit.timeutil import from_us

__all__ = ["app"]

app = typer.Typer(help="The Parquet mirror read by `eventkit sql --engine duckdb`.",
                  no_args_is_help=True)  # fmt: skip


@app.command("refresh")
def refresh_cmd(ctx: typer.Context, fmt: FormatOption = Format.table) -> None:
    """Append new events to the mirror (and rebuild apps that lost rows)."""
    st = state(ctx)
    with console.status("refreshing the mirror…"):
        result = refresh(st.engine(), st.settings)
    data = {
        "events_added": result.events_added,
        "apps_rebuilt": result.apps_rebuilt,
        "tables_exported": result.tables_exported,
        "watermark": result.watermark,
        "seconds": round(result.seconds, 2),
        "directory": str(mirror_root(st.settings)),
    }
    render_one(data, fmt, title="mirror refreshed")


@app.command("status")
def status_cmd(ctx: typer.Context, fmt: FormatOption = Format.table) -> None:
    """Where the mirror stands: events mirrored per app, last refresh."""
    st = state(ctx)
    current = read_state(st.settings)
    if current is None:
        console.print("no mirror yet: run `eventkit mirror refresh`")
        return
    data = {
        "directory": str(mirror_root(st.settings)),
        "watermark": current.watermark,
        "refreshed_at": from_us(current.refreshed_at).isoformat(timespec="seconds"),
        "events": sum(p["rows"] for parts in current.parts.values() for p in parts),
        "files": sum(len(parts) for parts in current.parts.values()),
        "apps": len(current.parts),
    }
    render_one(data, fmt, title="mirror")
