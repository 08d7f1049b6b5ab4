"""``eventkit apps``: create, list and show apps."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from eventkit.cli.context import state
from eventkit.cli.output import Col, Format, FormatOption, console, render, render_one
from eventkit.storage.apps import AppInfo, NewKeys, create_app, get_app, list_apps
from eventkit.timeutil import from_us

__all__ = ["app", "print_new_keys"]

app = typer.Typer(help="Create, list and show apps.", no_args_is_help=True)


def _row(info: AppInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "name": info.name,
        "description": info.description,
        "created_at": from_us(info.created_at).isoformat(timespec="seconds"),
        "write_keys": list(info.write_key_prefixes),
        "secret_keys": list(info.secret_key_prefixes),
        "events": info.event_count,
    }


def print_new_keys(keys: NewKeys, url: str, fmt: Format = Format.table) -> None:
    """Show keys that were just created: they are never shown again."""
    data = {"app": keys.app_name, "app_id": keys.app_id, "url": url}
    if keys.write_key:
        data["write_key"] = keys.write_key
    if keys.secret_key:
        data["secret_key"] = keys.secret_key
    if fmt is not Format.table:
        render_one(data, fmt)
        return
    console.print(
        f"\n[bold green]App '{keys.app_name}'[/bold green] — keys are shown once; store them now."
    )
    if keys.write_key:
        console.print(f"  write key  (ship in apps):  [bold]{keys.write_key}[/bold]")
    if keys.secret_key:
        console.print(f"  secret key (reads, admin):  [bold]{keys.secret_key}[/bold]")
    console.print(f"  send events to:             [bold]{url}/v1/events[/bold]\n")


@app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Lower-case name: a-z, 0-9, '-', '_'.")],
    description: Annotated[str, typer.Option(help="What the app is.")] = "",
    fmt: FormatOption = Format.table,
) -> None:
    """Create an app with a write key and a secret key."""
    st = state(ctx)
    keys = create_app(st.engine(), name, description)
    print_new_keys(keys, st.settings.url, fmt)


@app.command("list")
def list_(ctx: typer.Context, fmt: FormatOption = Format.table) -> None:
    """List apps with their active key prefixes and event counts."""
    rows = [_row(a) for a in list_apps(state(ctx).engine(), count_events=True)]
    cols = ["id", "name", "description", "created_at", "write_keys", "secret_keys", "events"]
    # Narrow terminals keep the name, the event count and the write key first.
    rank = {"name": 0, "events": 1, "write_keys": 2, "description": 3, "created_at": 4}
    render(
        rows,
        fmt,
        columns=[Col(c, priority=rank.get(c, 9)) for c in cols],
        title="apps",
        empty="no apps yet: `eventkit apps create NAME`",
    )


@app.command("show")
def show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="App name.")],
    fmt: FormatOption = Format.table,
) -> None:
    """Show one app."""
    render_one(_row(get_app(state(ctx).engine(), name)), fmt, title=name)
