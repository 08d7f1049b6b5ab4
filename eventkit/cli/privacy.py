"""Privacy commands: ``users delete|export``, ``apps set|settings`` and the
``privacy`` group (``audit``, ``purge``). Registered by ``eventkit.builtins.privacy``."""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.engine import Engine

from eventkit.cli.context import state
from eventkit.cli.options import AllAppsOption, AppOption, one_app
from eventkit.cli.output import Format, FormatOption, console, render, render_one
from eventkit.errors import NotFoundError
from eventkit.privacy.access import export_user
from eventkit.privacy.audit import list_audit, record_audit
from eventkit.privacy.erasure import delete_user
from eventkit.privacy.policy import IP_POLICIES, policy_from, set_privacy_settings
from eventkit.privacy.retention import purge_expired
from eventkit.privacy.subjects import UserStatus, user_status
from eventkit.storage.apps import AppInfo
from eventkit.storage.engine import writer
from eventkit.storage.errors import map_db_errors
from eventkit.storage.policies import app_id_by_name, app_settings
from eventkit.timeutil import from_us
from eventkit.tracking.plan import MODES
from eventkit.tracking.store import plan_mode, set_plan_mode

__all__ = ["app", "delete_cmd", "export_cmd", "set_cmd", "settings_cmd"]

app = typer.Typer(help="Privacy: audit log and retention purge.", no_args_is_help=True)


def _status(engine: Engine, chosen: AppInfo, user_id: str, verb: str) -> UserStatus:
    """Whether the app holds the user; an unknown user is an error, not an empty
    success (a wrong id or the wrong app must not look like a fulfilled request)."""
    with map_db_errors(), engine.connect() as conn:
        status = user_status(conn, chosen.id, user_id)
    if status == "unknown":
        raise NotFoundError(
            f"app {chosen.name!r} holds nothing about user {user_id!r}: check the id and "
            f"--app (`eventkit users show {user_id} --app APP`); nothing was {verb}"
        )
    return status


def delete_cmd(
    ctx: typer.Context,
    user_id: Annotated[str, typer.Argument(help="The user_id to erase.")],
    app_name: AppOption = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    fmt: FormatOption = Format.table,
) -> None:
    """Erase a user: events, sessions, profile, links, rollup rows; leave a tombstone."""
    st = state(ctx)
    engine = st.engine()
    chosen = one_app(engine, app_name)
    app_id = chosen.id
    if _status(engine, chosen, user_id, "erased") == "erased":
        console.print(f"user {user_id!r} of app {chosen.name!r} was already erased; nothing left")
        return
    if not yes:
        typer.confirm(
            f"Erase everything held about user {user_id!r}? This cannot be undone", abort=True
        )
    with console.status("writing tombstones, waiting for servers, deleting…"):
        result = delete_user(engine, st.settings, app_id, user_id, actor=getpass.getuser())
    data: dict[str, Any] = {
        "user_id": user_id,
        "subject": result.subject,
        "anonymous_ids": result.anonymous_ids,
        **{f"deleted.{k}": v for k, v in sorted(result.deleted.items())},
    }
    if result.flags_mentioning:
        data["flags_mentioning"] = result.flags_mentioning
    render_one(data, fmt, title=f"erased user {user_id}")
    if result.flags_mentioning and fmt is Format.table:
        console.print(
            "[yellow]flag definitions still name this user: "
            f"{', '.join(result.flags_mentioning)} (`eventkit flags` to edit them)[/yellow]"
        )


def export_cmd(
    ctx: typer.Context,
    user_id: Annotated[str, typer.Argument(help="The user_id to export.")],
    app_name: AppOption = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the JSON here (default: stdout).")
    ] = None,
) -> None:
    """Everything held about a user, as JSON (an access request's answer)."""
    st = state(ctx)
    engine = st.engine()
    chosen = one_app(engine, app_name)
    if _status(engine, chosen, user_id, "exported") == "erased":
        raise NotFoundError(
            f"user {user_id!r} of app {chosen.name!r} was erased: nothing is held to export"
        )
    data = export_user(engine, chosen.id, user_id, actor=getpass.getuser())
    text = json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        console.print(f"wrote {output}: {len(data['events'])} events")


def _effective(st: Any, app_id: int) -> dict[str, Any]:
    engine = st.engine()
    with map_db_errors(), engine.connect() as conn:
        doc = app_settings(conn, app_id)
        mode = plan_mode(conn, app_id)
    own = doc.get("privacy") or {}
    policy = policy_from(st.settings.privacy, app_id, own)
    return {
        "ip": policy.ip,
        "retention_days": policy.retention_days,
        "scrub": [f"{r.pattern}={r.action}" for r in policy.scrubber.rules]
        if policy.scrubber
        else [],
        "plan_mode": mode,
        "own_settings": dict(own),
    }


def set_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="App name.")],
    ip: Annotated[
        str | None, typer.Option("--ip", help=f"Client IP policy: {'|'.join(IP_POLICIES)}.")
    ] = None,
    retention_days: Annotated[
        int | None,
        typer.Option("--retention-days", min=0, help="Purge raw events after N days (0: keep)."),
    ] = None,
    plan_mode_: Annotated[
        str | None, typer.Option("--plan-mode", help=f"Tracking plan mode: {'|'.join(MODES)}.")
    ] = None,
    scrub: Annotated[
        list[str] | None,
        typer.Option("--scrub", help="PATTERN=drop|hash; repeat; replaces the app's rules."),
    ] = None,
    no_scrub: Annotated[bool, typer.Option("--no-scrub", help="Remove the app's rules.")] = False,
    fmt: FormatOption = Format.table,
) -> None:
    """Change an app's privacy and tracking settings (servers apply them within seconds)."""
    st = state(ctx)
    engine = st.engine()
    if plan_mode_ is not None and plan_mode_ not in MODES:
        raise typer.BadParameter(f"must be one of {', '.join(MODES)}", param_hint="--plan-mode")
    if ip is not None and ip not in IP_POLICIES:
        raise typer.BadParameter(f"must be one of {', '.join(IP_POLICIES)}", param_hint="--ip")
    rules = [] if no_scrub else scrub
    with map_db_errors(), writer(engine).begin() as conn:
        app_id = app_id_by_name(conn, name)
        before = app_settings(conn, app_id)
        set_privacy_settings(conn, app_id, ip=ip, retention_days=retention_days, scrub=rules)
        if plan_mode_ is not None:
            set_plan_mode(conn, app_id, plan_mode_)
        after = app_settings(conn, app_id)
        record_audit(
            conn,
            app_id,
            "settings",
            getpass.getuser(),
            {"before": {k: before.get(k) for k in ("privacy", "tracking")},
             "after": {k: after.get(k) for k in ("privacy", "tracking")}},
        )  # fmt: skip
    render_one(_effective(st, app_id), fmt, title=f"{name} settings")


def settings_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="App name.")],
    fmt: FormatOption = Format.table,
) -> None:
    """Show an app's effective privacy and tracking settings."""
    st = state(ctx)
    engine = st.engine()
    with map_db_errors(), engine.connect() as conn:
        app_id = app_id_by_name(conn, name)
    render_one(_effective(st, app_id), fmt, title=f"{name} settings")


@app.command("audit")
def audit(
    ctx: typer.Context,
    app_name: AllAppsOption = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Most entries.")] = 50,
    fmt: FormatOption = Format.table,
) -> None:
    """The privacy audit log, newest first (erasures, exports, settings, purges)."""
    st = state(ctx)
    engine = st.engine()
    app_id = None
    if app_name is not None:
        with map_db_errors(), engine.connect() as conn:
            app_id = app_id_by_name(conn, app_name)
    rows = [
        {
            "at": from_us(e.at).isoformat(timespec="seconds"),
            "app_id": e.app_id,
            "action": e.action,
            "subject": e.subject[:16],
            "actor": e.actor,
            "details": e.details,
        }
        for e in list_audit(engine, app_id, limit=limit)
    ]
    render(rows, fmt, title="privacy audit", empty="no privacy actions recorded")


@app.command("purge")
def purge(ctx: typer.Context, fmt: FormatOption = Format.table) -> None:
    """Run the retention purge now (the server runs it every privacy.purge_interval_hours)."""
    st = state(ctx)
    result = purge_expired(st.engine(), st.settings, actor=getpass.getuser())
    rows = [
        {"app_id": a, "events": n, "sessions": result.sessions.get(a, 0)}
        for a, n in sorted(result.events.items())
    ]
    render(rows, fmt, title="purged", empty="nothing past retention")
