"""``eventkit users``: one user's profile and timeline."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from eventkit.cli.context import state
from eventkit.cli.options import AppOption, one_app
from eventkit.cli.output import Col, Format, FormatOption, render, render_one
from eventkit.reports.export import json_text
from eventkit.reports.users import user_timeline
from eventkit.timeutil import from_us

__all__ = ["app"]

app = typer.Typer(help="Look up, export and erase users.", no_args_is_help=True)


@app.command("show")
def show(
    ctx: typer.Context,
    user_id: Annotated[str, typer.Argument(help="user_id (or a device's anonymous_id).")],
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Most events shown.")] = 50,
    app_name: AppOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """A user's profile (traits, devices, first and last seen) and newest events."""
    st = state(ctx)
    engine = st.engine()
    data = user_timeline(engine, one_app(engine, app_name).id, user_id, limit=limit)
    if fmt is Format.json:
        sys.stdout.write(json_text(data))
        return
    profile = dict(data["profile"])
    for key in ("first_seen", "last_seen"):
        if profile.get(key) is not None:
            profile[key] = from_us(profile[key]).isoformat(timespec="seconds")
    if fmt is Format.table:
        render_one(profile, fmt, title=f"user {user_id}")
    # Narrow terminals keep the time, the name and a preview of the properties.
    columns = [
        Col("ts", header="time", keep=True),
        Col("name", keep=True),
        Col("session_id", priority=3),
        Col("platform", priority=4),
        Col("app_version", priority=5),
        Col("properties", priority=2, keep=True),
    ]
    render(
        data["events"],
        fmt,
        columns=columns if fmt is Format.table else None,
        title="events (newest first)",
        empty="no events",
    )
