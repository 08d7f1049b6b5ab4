"""``eventkit export``: stored events to Parquet, CSV or NDJSON, with a progress bar."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from eventkit.cli.context import state
from eventkit.cli.options import AllAppsOption, app_scope, when_option
from eventkit.reports.query import parse_filter
from eventkit_export.writers import FORMATS, ExportQuery, count
from eventkit_export.writers import export as write_export

__all__ = ["export"]


def export(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", "-f", help="parquet, csv or ndjson.")] = "ndjson",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default events.FORMAT).")
    ] = None,
    app_name: AllAppsOption = None,
    since: Annotated[str | None, typer.Option(help="From: ISO time or span (2h, 7d).")] = None,
    until: Annotated[str | None, typer.Option(help="Until (exclusive).")] = None,
    where: Annotated[
        list[str] | None,
        typer.Option("--where", "-w", help="Filter key=value or key!=value (repeatable)."),
    ] = None,
) -> None:
    """Export stored events to a Parquet, CSV or NDJSON file (streams; bounded memory)."""
    if fmt not in FORMATS:
        raise typer.BadParameter(f"use one of {', '.join(FORMATS)}", param_hint="--format")
    engine = state(ctx).engine()
    app_id, _ = app_scope(engine, app_name)
    q = ExportQuery(
        app_id=app_id,
        since=when_option(since, "--since"),
        until=when_option(until, "--until"),
        where=tuple(parse_filter(w) for w in where or []),
    )
    path = output or Path(f"events.{fmt}")
    total = count(engine, q)
    err = Console(stderr=True)  # the bar goes to stderr, the file is the output
    with Progress(
        TextColumn("exporting"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task("export", total=total)
        written = write_export(engine, q, fmt, path, lambda n: progress.advance(task, n))
    err.print(f"wrote {written} events to {path} ({fmt})", highlight=False, soft_wrap=True)
