"""``eventkit report paths``: the most common paths within sessions, as a tree and a
table in the terminal, JSON or CSV for scripts (docs/reports.md#paths)."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from eventkit.cli.context import state
from eventkit.cli.options import AppOption, one_app
from eventkit.cli.output import Format, FormatOption, console, render
from eventkit.reports import Report, ReportsService
from eventkit.reports.params import ReportParams, run_report
from eventkit.tui.widgets.paths_tree import paths_tree

__all__ = ["paths_cmd", "show_paths"]


def show_paths(report: Report, fmt: Format) -> None:
    """Tree and top paths for people, the tree rows as JSON or CSV for scripts."""
    if fmt is Format.json:
        sys.stdout.write(json.dumps(report.to_dict(), indent=2, default=str) + "\n")
        return
    if fmt is Format.csv:
        render(report.rows, fmt, columns=report.columns)
        return
    if not report.rows:
        console.print("[dim]no sessions with such a path in range[/dim]")
        return
    console.print(paths_tree(report))
    arrow = " ← " if report.meta.get("before") else " → "
    top = [
        {"path": arrow.join(p["path"]), "sessions": p["sessions"],
         "pct": round(100.0 * p["sessions"] / report.meta["sessions"], 1)}
        for p in report.meta["top_paths"]
    ]  # fmt: skip
    render(top, Format.table, columns=["path", "sessions", "pct"], title="most common paths")


def paths_cmd(
    ctx: typer.Context,
    after: Annotated[
        str | None, typer.Option(help="Paths from the first EVENT (or screen) of a session.")
    ] = None,
    before: Annotated[
        str | None, typer.Option(help="Paths leading to the first EVENT (or screen).")
    ] = None,
    steps: Annotated[int, typer.Option(min=2, max=20, help="Steps, the anchor included.")] = 5,
    by: Annotated[str, typer.Option(help="screen (screen views) or event (event names).")] = (
        "screen"
    ),
    limit: Annotated[
        int, typer.Option(min=1, max=50, help="Branches kept per step; the rest is (other).")
    ] = 5,
    since: Annotated[str | None, typer.Option(help="From: ISO time or span back (30d).")] = None,
    until: Annotated[str | None, typer.Option(help="Until, exclusive (default: now).")] = None,
    cohort: Annotated[
        str | None, typer.Option(help="Only sessions of this cohort's members.")
    ] = None,
    app_name: AppOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """The most common paths within sessions, with exact counts, (other) and drop-off."""
    st = state(ctx)
    engine = st.engine()
    app_id = one_app(engine, app_name).id
    p = ReportParams(since=since, until=until, by=by, after=after, before=before, depth=steps,
                     branches=limit, cohort=cohort)  # fmt: skip
    with console.status("tracing paths…"):
        report = run_report(ReportsService(engine, st.settings), "paths", app_id, p)
    show_paths(report, fmt)
