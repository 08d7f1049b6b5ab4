"""``eventkit digest``: scheduled summaries of an app (docs/alerts.md#digests)."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from eventkit.alerts import create_rule, delete_rule, get_rule, parse_spec, set_paused
from eventkit.alerts import preview_digest as build_preview
from eventkit.alerts.present import rule_dict
from eventkit.cli.alerts import (
    EmailOpt,
    NameArg,
    SecretOpt,
    SlackOpt,
    WebhookOpt,
    destinations_of,
    show_rules,
    user,
)
from eventkit.cli.context import state
from eventkit.cli.options import AllAppsOption, AppOption, one_app
from eventkit.cli.output import Format, FormatOption, console, render_one
from eventkit.storage.apps import list_apps

__all__ = ["app"]

app = typer.Typer(help="Digests: a daily or weekly summary sent to the team.", no_args_is_help=True)


@app.command("create")
def create_cmd(
    ctx: typer.Context,
    name: NameArg,
    period: Annotated[
        str, typer.Option(help="daily (yesterday) or weekly (last Monday to Monday).")
    ] = "weekly",
    hour: Annotated[int, typer.Option(min=0, max=23, help="Send after this UTC hour.")] = 8,
    funnel: Annotated[
        list[str] | None,
        typer.Option("--funnel", help="Pin a funnel: steps separated by commas (repeatable)."),
    ] = None,
    email: EmailOpt = None,
    slack: SlackOpt = None,
    webhook: WebhookOpt = None,
    secret: SecretOpt = "",
    app_name: AppOption = None,
) -> None:
    """Create a digest of an app."""
    st = state(ctx)
    engine = st.engine()
    app_id = one_app(engine, app_name).id
    definition = {
        "period": period,
        "hour": hour,
        "funnels": [[s.strip() for s in f.split(",") if s.strip()] for f in funnel or []],
        "destinations": destinations_of(email, slack, webhook, secret),
    }
    create_rule(engine, app_id, "digest", name, parse_spec("digest", definition), user())
    console.print(
        f"created {period} digest [bold]{name}[/bold]; see it now: eventkit digest preview {name}",
        highlight=False,
    )


@app.command("list")
def list_cmd(
    ctx: typer.Context, app_name: AllAppsOption = None, fmt: FormatOption = Format.table
) -> None:
    """The digests of an app (all apps without --app)."""
    show_rules(
        ctx,
        "digest",
        app_name,
        fmt,
        ["name", "app", "status", "period", "hour_utc", "destinations"],
    )


@app.command("preview")
def preview_cmd(
    ctx: typer.Context,
    name: NameArg,
    app_name: AppOption = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="text (the email) or json.")] = "text",
) -> None:
    """Print the digest of the latest complete period, as it would be sent."""
    st = state(ctx)
    engine = st.engine()
    rule = get_rule(engine, one_app(engine, app_name).id, "digest", name)
    content, message = build_preview(engine, st.settings, rule)
    if fmt == "json":
        sys.stdout.write(json.dumps(content, indent=2, default=str) + "\n")
        return
    sys.stdout.write(f"Subject: {message['subject']}\n\n{message['text']}\n")


@app.command("delete")
def delete_cmd(ctx: typer.Context, name: NameArg, app_name: AppOption = None) -> None:
    """Delete a digest."""
    st = state(ctx)
    engine = st.engine()
    delete_rule(engine, one_app(engine, app_name).id, "digest", name)
    console.print(f"deleted digest [bold]{name}[/bold]")


def _pause(ctx: typer.Context, name: str, app_name: str | None, paused: bool) -> None:
    st = state(ctx)
    engine = st.engine()
    set_paused(engine, one_app(engine, app_name).id, "digest", name, paused)
    console.print(f"digest [bold]{name}[/bold] {'paused' if paused else 'resumed'}")


@app.command("pause")
def pause_cmd(ctx: typer.Context, name: NameArg, app_name: AppOption = None) -> None:
    """Stop sending a digest until it is resumed."""
    _pause(ctx, name, app_name, True)


@app.command("resume")
def resume_cmd(ctx: typer.Context, name: NameArg, app_name: AppOption = None) -> None:
    """Send a paused digest again."""
    _pause(ctx, name, app_name, False)


@app.command("show")
def show_cmd(
    ctx: typer.Context, name: NameArg, app_name: AppOption = None, fmt: FormatOption = Format.table
) -> None:
    """A digest's definition."""
    st = state(ctx)
    engine = st.engine()
    app_id = one_app(engine, app_name).id
    names = {a.id: a.name for a in list_apps(engine)}
    render_one(
        rule_dict(get_rule(engine, app_id, "digest", name), names[app_id]),
        fmt,
        title=f"digest {name}",
    )
