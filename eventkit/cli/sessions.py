"""``eventkit sessions``: list, show and summarize sessions; run or rebuild the job."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from eventkit.cli.context import state
from eventkit.cli.options import AllAppsOption, AppOption, app_scope, one_app, when_option
from eventkit.cli.output import Col, Format, FormatOption, console, render, render_one
from eventkit.sessions.job import rebuild_sessions, run_sessions_job
from eventkit.sessions.present import SESSION_COLUMNS, session_dict, timeline_dict
from eventkit.sessions.queries import SessionFilter, get_session, list_sessions, session_stats

__all__ = ["app"]

app = typer.Typer(help="Sessions: list, show, statistics, and the sessions job.")

SinceOption = Annotated[
    str | None, typer.Option(help="Started at or after: ISO time or span (2h, 7d).")
]
UntilOption = Annotated[str | None, typer.Option(help="Started before (exclusive).")]
PlatformOption = Annotated[str | None, typer.Option(help="Only this platform (ios, android…).")]

#: ``sessions list`` as a table: when it starts, whose, how long and how much first;
#: the id (for `sessions show`) while there is room. JSON and CSV carry every key.
SESSION_TABLE = [
    Col("started_at", keep=True),
    Col("user", header="user/device", keep=True),
    Col("duration_s", keep=True),
    Col("event_count", header="events"),
    Col("entry_screen"),
    Col("exit_screen"),
    Col("id"),
    *(
        Col(c)
        for c in SESSION_COLUMNS
        if c not in {"id", "started_at", "duration_s", "user_id", "anonymous_id", "event_count",
                     "entry_screen", "exit_screen"}
    ),
]  # fmt: skip
TIMELINE_TABLE = [
    Col("time", keep=True),
    Col("offset_s"),
    Col("name", keep=True),
    Col("properties", preview=True, keep=True),
    Col("user_id"),
    Col("event_id"),
]


class By(StrEnum):
    """Groupings of ``sessions stats``."""

    day = "day"
    platform = "platform"
    app_version = "app_version"
    total = "total"


@app.command("list")
def list_(
    ctx: typer.Context,
    app_name: AllAppsOption = None,
    user: Annotated[str | None, typer.Option("--user", "-u", help="Only this user_id.")] = None,
    since: SinceOption = None,
    until: UntilOption = None,
    platform: PlatformOption = None,
    is_open: Annotated[
        bool | None, typer.Option("--open/--closed", help="Only open, or only closed, sessions.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="Most sessions shown.")] = 50,
    fmt: FormatOption = Format.table,
) -> None:
    """List sessions, newest start first."""
    engine = state(ctx).engine()
    app_id, names = app_scope(engine, app_name)
    flt = SessionFilter(
        app_id=app_id,
        user_id=user,
        since=when_option(since, "--since"),
        until=when_option(until, "--until"),
        platform=platform,
        is_open=is_open,
    )
    rows = [
        session_dict(r, names.get(r["app_id"])) for r in list_sessions(engine, flt, limit=limit)
    ]
    if fmt is Format.table:
        rows = [{**r, "user": r["user_id"] or r["anonymous_id"]} for r in rows]
    render(
        rows,
        fmt,
        columns=SESSION_TABLE if fmt is Format.table else None,
        title="sessions",
        empty="no sessions: the sessions job runs every sessions.job_interval_seconds "
        "in `eventkit serve`, or now with `eventkit sessions run`",
    )


@app.command("show")
def show(
    ctx: typer.Context,
    session_id: Annotated[str, typer.Argument(help="Session id, or the client's session_id.")],
    app_name: AllAppsOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Show one session and its event timeline."""
    engine = state(ctx).engine()
    app_id, names = app_scope(engine, app_name)
    found = get_session(engine, session_id, app_id=app_id)
    summary = session_dict(found, names.get(found["app_id"]))
    events = timeline_dict(found)
    if fmt is Format.json:
        render_one({**summary, "events": events}, fmt)
    elif fmt is Format.csv:
        render(
            events, fmt, columns=["time", "offset_s", "name", "user_id", "event_id", "properties"]
        )
    else:
        render_one(summary, fmt, title=f"session {found['id']}")
        render(events, fmt, columns=TIMELINE_TABLE, title="timeline", empty="no events")


@app.command("stats")
def stats(
    ctx: typer.Context,
    app_name: AppOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    platform: PlatformOption = None,
    by: Annotated[By, typer.Option(help="One row per UTC day, platform or app version.")] = By.day,
    fmt: FormatOption = Format.table,
) -> None:
    """Session count, median and p90 duration, events per session, bounce rate."""
    engine = state(ctx).engine()
    app_id = one_app(engine, app_name).id
    flt = SessionFilter(
        app_id=app_id,
        since=when_option(since, "--since"),
        until=when_option(until, "--until"),
        platform=platform,
    )
    rows = session_stats(engine, flt, by=by.value)
    render(rows, fmt, title=f"sessions by {by.value}", empty="no sessions in that range")


@app.command("run")
def run(ctx: typer.Context, fmt: FormatOption = Format.table) -> None:
    """Run the sessions job once now: sessionize new events, close idle sessions."""
    st = state(ctx)
    res = run_sessions_job(st.engine(), st.settings)
    render_one(
        {
            "events": res.events,
            "devices": res.devices,
            "sessions_written": res.sessions_written,
            "sessions_closed": res.sessions_closed,
            "watermark": res.watermark,
        },
        fmt,
        title="sessions job",
    )


@app.command("rebuild")
def rebuild(
    ctx: typer.Context,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Recompute every session from scratch (after changing the timeouts)."""
    st = state(ctx)
    if not yes:
        typer.confirm("Delete every session and sessionize all events again?", abort=True)
    res = rebuild_sessions(st.engine(), st.settings)
    console.print(f"rebuilt: {res.events} events, {res.sessions_written} sessions")
