"""The Live page's stream: Server-Sent Events with the page's filters. Each message is
one new event, with its arrival id as the SSE id; a stream lasts ``STREAM_SECONDS`` and
the browser reconnects with ``Last-Event-ID``, resuming exactly where it stopped (the
position is sent even when no event matched). Short streams keep a server's graceful
shutdown short (it waits for open responses) and pass every browser through the
sign-in check again; within a stream the sign-in is re-checked every few seconds."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from litestar import Request, get
from litestar.params import PathParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage

from eventkit.reports.events import event_record, event_summary
from eventkit.reports.query import parse_filter
from eventkit.storage.events import EventFilter, last_event_id, query_events
from eventkit.web.auth import engine_of, member_of, require_member, settings_of
from eventkit.web.routes import build_view

__all__ = ["LIVE_ROUTES"]

Req = Request[Any, Any, Any]
Path = Annotated[str, PathParameter()]
#: A stream lasts this long, then the browser reconnects (and is checked again).
STREAM_SECONDS = 5.0
_RECHECK_SECONDS = 2.0
_BATCH = 200


@get("/apps/{app_name:str}/live/stream", include_in_schema=False)
async def live_stream(request: Req, app_name: Path) -> ServerSentEvent:
    """New events of an app as they arrive (viewer and up), filtered like the page."""
    principal = await asyncio.to_thread(require_member, request)
    v = await asyncio.to_thread(
        build_view, request, principal, app_name, "live", f"/apps/{app_name}"
    )
    engine, poll = engine_of(request), settings_of(request).web.live_poll_seconds
    wheres = [parse_filter(w) for w in v.args("where")]
    flt = EventFilter(app_id=v.app.id, name=v.arg("name") or None, user_id=v.arg("user_id") or None)
    resume = request.headers.get("last-event-id", "")
    after = (
        int(resume)
        if resume.isdigit()
        else await asyncio.to_thread(last_event_id, engine, v.app.id)
    )

    async def messages() -> AsyncIterator[ServerSentEventMessage]:
        nonlocal after
        started = checked = time.monotonic()
        sent = after
        yield ServerSentEventMessage(comment="connected", id=str(after), retry=500)
        while time.monotonic() - started < STREAM_SECONDS:
            if time.monotonic() - checked > _RECHECK_SECONDS:
                request.scope.pop("ek_principal", None)  # type: ignore[typeddict-item]
                if await asyncio.to_thread(member_of, request) is None:
                    yield ServerSentEventMessage(event="signed_out", data="{}")
                    return
                checked = time.monotonic()
            rows = await asyncio.to_thread(
                query_events,
                engine,
                EventFilter(**{**flt.__dict__, "after_id": after}),
                limit=_BATCH,
                newest_first=False,
            )
            for e in rows:
                after = max(after, e.id or 0)
                if all(w.matches(e.properties.get(w.key)) for w in wheres):
                    row = {**event_summary(e), "record": event_record(e, app=v.app.name)}
                    yield ServerSentEventMessage(
                        data=json.dumps(row, default=str), id=str(e.id), event="event"
                    )
                    sent = after
            if after != sent:  # events passed that the filters skipped: move the position
                yield ServerSentEventMessage(comment="skipped", id=str(after))
                sent = after
            if len(rows) < _BATCH:
                await asyncio.sleep(poll)

    return ServerSentEvent(messages(), headers={"Cache-Control": "no-store"})


LIVE_ROUTES = [live_stream]
