"""``eventkit schema``: tracking plans (push, pull, diff, violations, infer)."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import Annotated

import typer

from eventkit.cli.context import state
from eventkit.cli.options import AppOption, one_app, when_option
from eventkit.cli.output import Format, FormatOption, console, render
from eventkit.errors import InvalidRequestError
from eventkit.timeutil import from_us
from eventkit.tracking.infer import infer_plan
from eventkit.tracking.plan import diff_plans, dump_plan, parse_plan
from eventkit.tracking.store import clear_violations, get_plan, list_violations, push_plan
from eventkit.tracking.validator import KINDS

__all__ = ["app"]

app = typer.Typer(help="Tracking plans: push, pull, diff, violations, infer.", no_args_is_help=True)

PlanFile = Annotated[Path, typer.Argument(help="The plan file (YAML or JSON).")]


def _read(path: Path) -> str:
    try:
        return sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidRequestError(f"cannot read {path}: {exc.strerror}") from None


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        console.print(f"wrote {output}")


@app.command("push")
def push(
    ctx: typer.Context, path: PlanFile, app_name: AppOption = None, fmt: FormatOption = Format.table
) -> None:
    """Check a plan file and make it the app's tracking plan (a new version)."""
    st = state(ctx)
    engine = st.engine()
    plan = parse_plan(_read(path), str(path))
    app_id = one_app(engine, app_name).id
    diff = push_plan(engine, app_id, plan, getpass.getuser())
    if fmt is not Format.table:
        render(diff.rows(), fmt, columns=["event", "change"])
        return
    if diff.empty:
        console.print("the plan is unchanged")
        return
    render(diff.rows(), Format.table, title="plan changes")
    mode = get_plan(engine, app_id).mode
    if mode == "off":
        console.print(
            "[dim]the app's plan mode is off: `eventkit apps set APP --plan-mode warn` "
            "starts checking events[/dim]"
        )


@app.command("pull")
def pull(
    ctx: typer.Context,
    app_name: AppOption = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here.")] = None,
) -> None:
    """Print the app's tracking plan as YAML."""
    st = state(ctx)
    engine = st.engine()
    stored = get_plan(engine, one_app(engine, app_name).id)
    if stored.plan is None:
        raise InvalidRequestError("the app has no tracking plan yet: `eventkit schema push FILE`")
    _write(dump_plan(stored.plan), output)


@app.command("diff")
def diff(
    ctx: typer.Context,
    path: PlanFile,
    app_name: AppOption = None,
    exit_code: Annotated[
        bool, typer.Option("--exit-code", help="Exit 1 when the file differs (for CI).")
    ] = False,
    fmt: FormatOption = Format.table,
) -> None:
    """What pushing a plan file would change, event by event."""
    st = state(ctx)
    engine = st.engine()
    plan = parse_plan(_read(path), str(path))
    changes = diff_plans(get_plan(engine, one_app(engine, app_name).id).plan, plan)
    render(changes.rows(), fmt, title="plan changes", empty="no changes")
    if exit_code and not changes.empty:
        raise typer.Exit(1)


@app.command("violations")
def violations(
    ctx: typer.Context,
    app_name: AppOption = None,
    kind: Annotated[str | None, typer.Option(help=f"Only one kind: {', '.join(KINDS)}.")] = None,
    event: Annotated[str | None, typer.Option(help="Only this event name.")] = None,
    since: Annotated[str | None, typer.Option(help="Seen since (ISO time or 7d).")] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Forget the counts.")] = False,
    fmt: FormatOption = Format.table,
) -> None:
    """Violations of the plan counted by kind and event name, most frequent first."""
    st = state(ctx)
    engine = st.engine()
    app_id = one_app(engine, app_name).id
    if clear:
        console.print(f"cleared {clear_violations(engine, app_id)} violation counts")
        return
    if kind is not None and kind not in KINDS:
        raise typer.BadParameter(f"must be one of {', '.join(KINDS)}", param_hint="--kind")
    rows = list_violations(
        engine, app_id, kind=kind, event_name=event, since=when_option(since, "--since")
    )
    render(
        [
            {
                "event": v.event_name,
                "kind": v.kind,
                "property": v.property,
                "count": v.count,
                "last_seen": from_us(v.last_seen).isoformat(timespec="seconds"),
                "example": v.example,
            }
            for v in rows
        ],
        fmt,
        title="tracking plan violations",
        empty="no violations recorded",
    )


@app.command("infer")
def infer(
    ctx: typer.Context,
    app_name: AppOption = None,
    since: Annotated[str | None, typer.Option(help="Only events since (ISO time or 30d).")] = None,
    sample: Annotated[int, typer.Option(min=1, help="Newest events read per name.")] = 1000,
    enum_max: Annotated[
        int, typer.Option(min=0, help="Give string properties with at most N values an enum.")
    ] = 0,
    include_reserved: Annotated[
        bool, typer.Option("--include-reserved", help="Also plan $-prefixed events.")
    ] = False,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here.")] = None,
) -> None:
    """Propose a plan from the events already stored (review it, then `schema push`)."""
    st = state(ctx)
    engine = st.engine()
    plan, counts = infer_plan(
        engine,
        one_app(engine, app_name).id,
        since=when_option(since, "--since"),
        sample=sample,
        include_reserved=include_reserved,
        enum_max=enum_max,
    )
    if not plan["events"]:
        raise InvalidRequestError("no stored events to infer a plan from (check --app/--since)")
    _write(dump_plan(plan), output)
    if output is not None:
        console.print(f"{len(counts)} events from {sum(counts.values())} samples")
