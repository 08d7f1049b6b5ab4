"""``eventkit report releases`` (release health), ``eventkit annotate`` and
``eventkit annotations list|delete``."""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from typing import Annotated, Any

import typer
from rich.table import Table

from eventkit.cli.alerts import user
from eventkit.cli.context import state
from eventkit.cli.options import AppOption, one_app
from eventkit.cli.output import Format, FormatOption, console, render
from eventkit.cli.report import SinceOpt, UntilOpt
from eventkit.errors import InvalidRequestError
from eventkit.releases import create_annotation, delete_annotation, list_annotations
from eventkit.reports import Report, ReportsService
from eventkit.reports.params import ReportParams, run_report
from eventkit.timeutil import now_us, parse_when

__all__ = ["annotate", "annotations_app", "releases_cmd"]

#: Report columns shown in the table, and their headings.
_SHOWN = {
    "app_version": "version",
    "platform": "platform",
    "first_seen": "first seen",
    "users": "users",
    "adoption_pct": "adoption",
    "sessions": "sessions",
    "crash_free_users_pct": "crash-free users",
    "crash_free_sessions_pct": "crash-free sessions",
    "crashes": "crashes",
    "errors_per_session": "errors/session",
}


def _display(row: dict[str, Any]) -> dict[str, Any]:
    out = {_SHOWN[k]: row[k] for k in _SHOWN}
    out["first seen"] = (row["first_seen"] or "")[:10]
    for k in ("adoption", "crash-free users", "crash-free sessions"):
        out[k] = "" if out[k] is None else f"{out[k]:.2f}%"
    eps = out["errors/session"]
    out["errors/session"] = "" if eps is None else f"{eps:.3f}"
    return out


def releases_cmd(
    ctx: typer.Context,
    version: Annotated[
        str | None, typer.Option(help="One version, or latest (the newest per platform).")
    ] = None,
    platform: Annotated[str | None, typer.Option(help="One platform (ios, android).")] = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    interval: Annotated[
        str, typer.Option("--interval", "-i", help="Adoption per day or week.")
    ] = "day",
    app_name: AppOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Release health per app version and platform: adoption, crash-free users and
    sessions, errors per session, first seen."""
    st = state(ctx)
    engine = st.engine()
    app_id = one_app(engine, app_name).id
    p = ReportParams(
        since=since, until=until, interval=interval, version=version, platform=platform
    )
    report = run_report(ReportsService(engine, st.settings), "releases", app_id, p)
    if fmt is Format.json:
        sys.stdout.write(json.dumps(report.to_dict(), indent=2, default=str) + "\n")
        return
    if fmt is Format.csv:
        render(report.rows, fmt, columns=report.columns)
        return
    render(
        [_display(r) for r in report.rows],
        fmt,
        columns=list(_SHOWN.values()),
        title="release health",
        empty="no app versions seen in range",
    )
    _adoption(report)
    m = report.meta
    latest = ", ".join(f"{p or '(none)'} {v}" for p, v in sorted(m["latest"].items()))
    console.print(
        f"[bold]active users[/bold] {m['active_users']:,}  [bold]latest[/bold] "
        f"{latest or '-'}  [bold]range[/bold] {m['since'][:10]} → {m['until'][:10]}",
        highlight=False,
    )


def _adoption(report: Report) -> None:
    """Adoption over time: one row per bucket, one column per version and platform."""
    data = report.meta["adoption"]
    if not data:
        return
    shares: dict[str, dict[str, Any]] = defaultdict(dict)
    keys: list[str] = []
    for a in data:
        key = f"{a['app_version']} {a['platform']}".strip()
        if key not in keys:
            keys.append(key)
        shares[a["bucket"]][key] = a["share_pct"]
    table = Table(title="adoption (% of active users)", header_style="bold cyan")
    table.add_column("bucket")
    for k in keys[-8:]:
        table.add_column(k, justify="right")
    for bucket in sorted(shares)[-14:]:
        table.add_row(bucket, *(f"{shares[bucket].get(k, 0) or 0:.1f}" for k in keys[-8:]))
    console.print(table)


def annotate(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(help="The note, e.g. 'campaign launched'.")],
    at: Annotated[
        str | None, typer.Option(help="When: ISO time or span back (default: now).")
    ] = None,
    app_name: AppOption = None,
) -> None:
    """Add an annotation to an app's timeline (shown on trend charts)."""
    st = state(ctx)
    engine = st.engine()
    app_id = one_app(engine, app_name).id
    try:
        ts = parse_when(at) if at else now_us()
    except ValueError as exc:
        raise InvalidRequestError(f"--at: {exc}") from None
    note = create_annotation(engine, app_id, ts, text, user())
    console.print(f"annotation #{note.id} at {note.to_dict()['at']}: {note.text}", highlight=False)


annotations_app = typer.Typer(
    help="Notes on the timeline: releases and your own.", no_args_is_help=True
)


@annotations_app.command("list")
def list_annotations_cmd(
    ctx: typer.Context,
    since: SinceOpt = None,
    until: UntilOpt = None,
    app_name: AppOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """An app's annotations (default: the last 90 days), oldest first."""
    st = state(ctx)
    engine = st.engine()
    app_id = one_app(engine, app_name).id
    try:
        end = parse_when(until) if until else now_us() + 1
        start = parse_when(since) if since else end - 90 * 86_400_000_000
    except ValueError as exc:
        raise InvalidRequestError(str(exc)) from None
    rows = [a.to_dict() for a in list_annotations(engine, app_id, start, end)]
    render(
        rows,
        fmt,
        columns=["id", "at", "kind", "text", "created_by"],
        title="annotations",
        empty="no annotations in range",
    )


@annotations_app.command("delete")
def delete_annotation_cmd(
    ctx: typer.Context,
    annotation_id: Annotated[int, typer.Argument(help="The annotation's id (annotations list).")],
    app_name: AppOption = None,
) -> None:
    """Delete an annotation."""
    st = state(ctx)
    engine = st.engine()
    delete_annotation(engine, one_app(engine, app_name).id, annotation_id)
    console.print(f"deleted annotation #{annotation_id}")
