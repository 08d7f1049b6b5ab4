"""``eventkit cohorts``: saved groups of users (docs/reports.md#cohorts)."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.engine import Engine

from eventkit.cli.context import state
from eventkit.cli.options import AppOption, one_app
from eventkit.cli.output import Format, FormatOption, console, render, render_one
from eventkit.cohorts import (
    CohortInfo,
    RefreshResult,
    create_cohort,
    delete_cohort,
    get_cohort,
    iter_members,
    list_cohorts,
    parse_spec,
    refresh_cohort,
    spec_from_options,
)
from eventkit.cohorts.spec import spec_to_dict
from eventkit.timeutil import from_us

__all__ = ["app"]

app = typer.Typer(help="Cohorts: saved groups of users to filter reports and target flags.",
                  no_args_is_help=True)  # fmt: skip

NameArg = Annotated[str, typer.Argument(help="The cohort's name.")]


def _app(ctx: typer.Context, name: str | None) -> tuple[Engine, str]:
    """The engine and the app the command is about (the one ``--app`` rule)."""
    engine = state(ctx).engine()
    return engine, one_app(engine, name).name


def _when(us: int | None) -> str | None:
    return None if us is None else from_us(us).isoformat(timespec="seconds")


def _row(c: CohortInfo) -> dict[str, Any]:
    return {
        "name": c.name,
        "members": c.member_count,
        "refreshed_at": _when(c.refreshed_at),
        "description": c.description,
        "definition": spec_to_dict(c.spec),
    }


def _refreshed(r: RefreshResult, fmt: Format) -> None:
    data = {"cohort": r.name, "mode": r.mode, "members": r.members, "added": r.added,
            "removed": r.removed, "evaluated": r.evaluated}  # fmt: skip
    render_one(data, fmt, title="cohort refreshed")


@app.command("create")
def create(
    ctx: typer.Context,
    name: NameArg,
    app_name: AppOption = None,
    did: Annotated[str | None, typer.Option(help="Did this event …")] = None,
    times: Annotated[int, typer.Option(min=0, help="… at least this many times.")] = 1,
    at_most: Annotated[int | None, typer.Option(min=0, help="… and at most this often.")] = None,
    within: Annotated[
        str | None, typer.Option(help="… within this many days (7d) of --of.")
    ] = None,
    of: Annotated[
        str, typer.Option(help="first-seen (their first days) or now (the last days).")
    ] = "first-seen",
    first_seen: Annotated[
        str | None, typer.Option(help="First seen in START..END (ISO dates or 30d).")
    ] = None,
    funnel: Annotated[
        str | None, typer.Option(help="Entered this funnel: A,B,C (event names).")
    ] = None,
    step: Annotated[int | None, typer.Option(help="… and reached step K (default: the last).")] = (
        None
    ),
    window: Annotated[str, typer.Option(help="… within this window (7d).")] = "1d",
    dropped: Annotated[bool, typer.Option(help="… and stopped before step K.")] = False,
    prop: Annotated[
        list[str] | None,
        typer.Option("--property", help="Profile trait KEY=VALUE, KEY!=VALUE, KEY>=N (repeat)."),
    ] = None,
    match_any: Annotated[bool, typer.Option("--any", help="Any condition (default: all).")] = (
        False
    ),
    definition: Annotated[
        Path | None, typer.Option(help="A JSON definition file instead of the options.")
    ] = None,
    description: Annotated[str, typer.Option(help="What the cohort is for.")] = "",
    fmt: FormatOption = Format.table,
) -> None:
    """Save a cohort and compute its members."""
    if definition is not None:
        spec = parse_spec(definition.read_text())
    else:
        spec = spec_from_options(did=did, times=times, at_most=at_most, within=within, of=of,
                                 first_seen=first_seen, funnel=funnel, step=step, window=window,
                                 dropped=dropped, properties=prop, match_any=match_any)  # fmt: skip
    engine, app = _app(ctx, app_name)
    with console.status("computing the members…"):
        result = create_cohort(engine, state(ctx).settings, app, name, spec,
                               description=description)  # fmt: skip
    _refreshed(result, fmt)


@app.command("list")
def list_(ctx: typer.Context, app_name: AppOption = None, fmt: FormatOption = Format.table) -> None:
    """The app's cohorts with their size and last refresh."""
    engine, app = _app(ctx, app_name)
    rows = [_row(c) for c in list_cohorts(engine, app)]
    cols = ["name", "members", "refreshed_at", "description"]
    if fmt is not Format.table:
        cols.append("definition")
    render(rows, fmt, columns=cols, title=f"cohorts of {app}", empty="no cohorts")


@app.command("show")
def show(ctx: typer.Context, name: NameArg, app_name: AppOption = None,
         fmt: FormatOption = Format.table) -> None:  # fmt: skip
    """One cohort: its definition, size and last refresh."""
    info = get_cohort(*_app(ctx, app_name), name)
    row = _row(info)
    if fmt is Format.table:
        row["definition"] = json.dumps(row["definition"], indent=1)
    render_one(row, fmt, title=f"cohort {name}")


@app.command("refresh")
def refresh(
    ctx: typer.Context, name: NameArg, app_name: AppOption = None,
    full: Annotated[bool, typer.Option(help="Evaluate everyone, not only who changed.")] = False,
    fmt: FormatOption = Format.table,
) -> None:  # fmt: skip
    """Recompute the members now (the scheduled job does this every few minutes)."""
    engine, app = _app(ctx, app_name)
    with console.status("refreshing…"):
        result = refresh_cohort(engine, state(ctx).settings, app, name, full=full)
    _refreshed(result, fmt)


@app.command("delete")
def delete(ctx: typer.Context, name: NameArg, app_name: AppOption = None) -> None:
    """Delete a cohort (flags targeting it stop matching anyone)."""
    info = delete_cohort(*_app(ctx, app_name), name)
    console.print(f"deleted cohort [bold]{info.name}[/bold] ({info.member_count} members)")


@app.command("export")
def export(ctx: typer.Context, name: NameArg, app_name: AppOption = None) -> None:
    """The members as CSV (actor, joined_at) on standard output."""
    engine, app = _app(ctx, app_name)
    get_cohort(engine, app, name)  # a clear error before any output
    w = csv.writer(sys.stdout)
    w.writerow(["actor", "joined_at"])
    for actor, joined in iter_members(engine, app, name):
        w.writerow([actor, _when(joined)])
