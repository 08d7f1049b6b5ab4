"""``eventkit aggregate``: run or rebuild the report rollups by hand."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from eventkit.aggregation import aggregate, rebuild, watermark
from eventkit.cli.context import state
from eventkit.cli.output import Format, FormatOption, console, render_one
from eventkit.storage.events import last_event_id
from eventkit.timeutil import parse_when

__all__ = ["app", "progress_bar"]

app = typer.Typer(help="Run or rebuild the rollups behind reports.", no_args_is_help=True)


def progress_bar() -> Progress:
    """A Rich progress bar on stderr (hidden when stderr is not a terminal)."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )


@app.command("run")
def run(ctx: typer.Context, fmt: FormatOption = Format.table) -> None:
    """Fold every event that arrived since the last run into the rollups."""
    st = state(ctx)
    engine = st.engine()
    with progress_bar() as bar:
        task = bar.add_task("aggregating", total=None)
        result = aggregate(
            engine,
            st.settings.aggregation,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    render_one(
        {"events": result.events, "batches": result.batches, "watermark": result.watermark},
        fmt,
        title="aggregate run",
    )


@app.command("rebuild")
def rebuild_cmd(
    ctx: typer.Context,
    since: Annotated[
        str | None, typer.Option(help="First day to rebuild: ISO date or span back (7d).")
    ] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Recompute the rollups from raw events, one day per transaction, then catch up."""
    st = state(ctx)
    engine = st.engine()
    start = None
    if since is not None:
        try:
            start = parse_when(since)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--since") from None
    with progress_bar() as bar:
        task = bar.add_task("rebuilding days", total=None)
        days = rebuild(
            engine,
            st.settings.aggregation,
            since=start,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
        result = aggregate(engine, st.settings.aggregation)
    render_one({"days": days, "new_events": result.events, "watermark": result.watermark},
               fmt, title="aggregate rebuild")  # fmt: skip


@app.command("status")
def status(ctx: typer.Context, fmt: FormatOption = Format.table) -> None:
    """How far the rollups are behind the newest event."""
    engine = state(ctx).engine()
    mark, last = watermark(engine), last_event_id(engine)
    render_one({"watermark": mark, "newest_event_id": last, "behind": max(0, last - mark)}, fmt,
               title="aggregate status")  # fmt: skip
