"""``eventkit events``: list, tail and send events."""

from __future__ import annotations

import json
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import httpx
import typer

from eventkit.cli.context import state
from eventkit.cli.options import AllAppsOption, app_scope, when_option
from eventkit.cli.output import Col, Format, FormatOption, console, render, render_one
from eventkit.client import Backoff, Client, GaveUpError
from eventkit.errors import AuthError, InvalidRequestError
from eventkit.reports.events import event_record, event_summary, preview
from eventkit.storage.apps import list_apps
from eventkit.storage.events import EventFilter, last_event_id, query_events
from eventkit.storage.models import Event

__all__ = ["app"]

app = typer.Typer(help="List, tail and send events.", no_args_is_help=True)

NameOption = Annotated[str | None, typer.Option("--name", "-n", help="Only this event name.")]
UserOption = Annotated[str | None, typer.Option("--user", "-u", help="Only this user_id.")]
#: The table: the columns a person scans first, then what fits (the rest: --format json).
TABLE = [
    Col("time", keep=True),
    Col("name", keep=True),
    Col("who", header="user/device", keep=True),
    Col("properties", preview=True, keep=True),
    Col("platform"),
    Col("version"),
    Col("app"),
]


def _table_columns(rows: list[dict[str, Any]]) -> list[str | Col]:
    """:data:`TABLE`, with the app among the columns kept when the events come from
    several apps (then which app matters as much as who sent it)."""
    if len({r["app"] for r in rows}) > 1:
        return [*TABLE[:4], Col("app", keep=True), *TABLE[4:6]]
    return list(TABLE)


def _rows(events: list[Event], names: dict[int, str], fmt: Format) -> list[dict[str, Any]]:
    """Table lines (:func:`event_summary`) or full records (:func:`event_record`)."""
    if fmt is Format.table:
        # The properties stay a dict: the table previews them as `key: value` pairs cut
        # at the column's width (eventkit.cli.tables), not at a fixed length.
        return [
            {
                "app": names.get(e.app_id, str(e.app_id)),
                **event_summary(e),
                "properties": e.properties,
            }
            for e in events
        ]
    return [event_record(e, app=names.get(e.app_id, str(e.app_id))) for e in events]


@app.command("list")
def list_(
    ctx: typer.Context,
    app_name: AllAppsOption = None,
    name: NameOption = None,
    user: UserOption = None,
    since: Annotated[str | None, typer.Option(help="From: ISO time or span (2h, 7d).")] = None,
    until: Annotated[str | None, typer.Option(help="Until (exclusive).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="Most events shown.")] = 50,
    fmt: FormatOption = Format.table,
) -> None:
    """List events, newest first."""
    engine = state(ctx).engine()
    app_id, names = app_scope(engine, app_name)
    flt = EventFilter(
        app_id=app_id,
        name=name,
        user_id=user,
        since=when_option(since, "--since"),
        until=when_option(until, "--until"),
    )
    rows = _rows(query_events(engine, flt, limit=limit), names, fmt)
    render(
        rows,
        fmt,
        columns=_table_columns(rows) if fmt is Format.table else None,
        title="events" if app_name is None else f"events of {app_name}",
        empty="no events yet: send one with curl (README.md) or `eventkit events send`",
    )


@app.command("tail")
def tail(
    ctx: typer.Context,
    app_name: AllAppsOption = None,
    name: NameOption = None,
    user: UserOption = None,
    interval: Annotated[float, typer.Option(min=0.05, help="Seconds between polls.")] = 1.0,
    max_events: Annotated[
        int | None, typer.Option("--max", min=1, help="Stop after this many events.")
    ] = None,
    duration: Annotated[
        float | None, typer.Option("--for", min=0.1, help="Stop after this many seconds.")
    ] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Follow new events as they arrive (Ctrl-C to stop). --format json prints NDJSON."""
    engine = state(ctx).engine()
    app_id, names = app_scope(engine, app_name)
    after = last_event_id(engine, app_id)
    seen = 0
    deadline = time.monotonic() + duration if duration else None
    if fmt is Format.table:
        console.print("[dim]waiting for events… (Ctrl-C to stop)[/dim]")
    try:
        while deadline is None or time.monotonic() < deadline:
            flt = EventFilter(app_id=app_id, name=name, user_id=user, after_id=after)
            batch = query_events(engine, flt, limit=1000, newest_first=False)
            for e in batch:
                assert e.id is not None
                after = max(after, e.id)
                (row,) = _rows([e], names, fmt)
                if fmt is Format.table:
                    console.print(
                        f"[dim]{row['time']}[/dim] [cyan]{row['app']}[/cyan] "
                        f"[bold]{row['name']}[/bold] {row['who']} {preview(row['properties'])}",
                        highlight=False,
                    )
                else:
                    sys.stdout.write(json.dumps(row, default=str) + "\n")
                    sys.stdout.flush()
                seen += 1
                if max_events is not None and seen >= max_events:
                    return
            if not batch:
                time.sleep(interval)
            else:
                names.update({a.id: a.name for a in list_apps(engine)})
    except KeyboardInterrupt:
        pass


def _properties(items: list[str]) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--property")
        try:
            props[key] = json.loads(value)
        except json.JSONDecodeError:
            props[key] = value
    return props


@app.command("send")
def send(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("--name", "-n", help="Event name.")] = "test_event",
    user: Annotated[str | None, typer.Option("--user", "-u", help="user_id.")] = None,
    anonymous_id: Annotated[str | None, typer.Option(help="anonymous_id (device).")] = None,
    prop: Annotated[
        list[str] | None, typer.Option("--property", "-p", help="KEY=VALUE (JSON values ok).")
    ] = None,
    count: Annotated[int, typer.Option(min=1, max=1000, help="Events in the batch.")] = 1,
    url: Annotated[str | None, typer.Option(help="Server URL (default: from config).")] = None,
    key: Annotated[str | None, typer.Option(envvar="EVENTKIT_WRITE_KEY", help="Write key.")] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Send a test event to a running server over HTTP and print the verdict."""
    if not key:
        raise AuthError("pass --key or set EVENTKIT_WRITE_KEY to the app's write key")
    base = (url or state(ctx).settings.url).rstrip("/")
    now = datetime.now(UTC).isoformat()
    events = [
        {
            "event_id": str(uuid.uuid4()),
            "name": name,
            "timestamp": now,
            "user_id": user,
            "anonymous_id": anonymous_id or (None if user else "cli"),
            "properties": _properties(prop or []),
            "context": {"library": {"name": "eventkit-cli"}},
        }
        for _ in range(count)
    ]
    client = Client(base, key, start=False, max_attempts=3, backoff=Backoff(base=0.2, maximum=2))
    try:
        status, body = client.send_batch(events)
    except (GaveUpError, httpx.HTTPError) as exc:
        raise InvalidRequestError(
            f"cannot reach {base}: {exc}; is `eventkit serve` running?"
        ) from None
    except ValueError:
        raise InvalidRequestError(f"{base} did not answer with JSON; is it eventkit?") from None
    finally:
        client.shutdown(timeout=0)
    if status >= 400 and "accepted" not in body:
        raise InvalidRequestError(f"{status}: {body.get('message', body)}")
    render_one({"status": status, **body}, fmt, title=f"POST {base}/v1/events")
