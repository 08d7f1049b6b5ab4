"""Read API for sessions (secret key): ``GET /v1/sessions``, ``/v1/sessions/stats``,
``/v1/sessions/{session_id}``. Mounted by ``eventkit.builtins.sessions``. Each handler makes one
call into ``eventkit.sessions.queries``; a key only ever sees its own app's sessions."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from litestar import get
from litestar.params import PathParameter, QueryParameter

from eventkit.api.deps import EVENTS_READ, REPORTS_READ, AppKey, RuntimeDep
from eventkit.api.params import time_param
from eventkit.sessions.present import session_dict, timeline_dict
from eventkit.sessions.queries import SessionFilter, get_session, list_sessions, session_stats

__all__ = ["ROUTES", "list_sessions_route", "session_stats_route", "show_session_route"]

_Since = Annotated[
    str | None, QueryParameter(description="Started at or after: ISO time or 2h, 7d.")
]
_Until = Annotated[str | None, QueryParameter(description="Started before: ISO time or span.")]
_Platform = Annotated[str | None, QueryParameter(description="Only this platform.")]


def _status(value: str | None) -> bool | None:
    return {None: None, "all": None, "open": True, "closed": False}[value]


@get(
    "/v1/sessions",
    name="list-sessions",
    summary="List sessions",
    description="Newest start first. Needs the app's secret key.",
    tags=["sessions"],
    dependencies={"app_key": EVENTS_READ},
)
async def list_sessions_route(
    app_key: AppKey,
    runtime: RuntimeDep,
    user_id: Annotated[str | None, QueryParameter(description="Only this user.")] = None,
    since: _Since = None,
    until: _Until = None,
    platform: _Platform = None,
    status: Annotated[
        Literal["open", "closed", "all"] | None,
        QueryParameter(description="open, closed or all (default)."),
    ] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=1000, description="Most sessions.")] = 100,
) -> dict[str, Any]:
    """The app's sessions matching the filters."""
    flt = SessionFilter(
        app_id=app_key.app_id,
        user_id=user_id,
        since=time_param(since, "since"),
        until=time_param(until, "until"),
        platform=platform,
        is_open=_status(status),
    )
    rows = await asyncio.to_thread(list_sessions, runtime.engine, flt, limit=limit)
    return {"sessions": [session_dict(r, app_key.app_name) for r in rows]}


@get(
    "/v1/sessions/stats",
    name="session-stats",
    summary="Session statistics",
    description=(
        "Count, median and p90 duration, events per session and bounce rate, per group "
        "(UTC day, platform or app version) and overall. Needs the app's secret key."
    ),
    tags=["sessions"],
    dependencies={"app_key": REPORTS_READ},
)
async def session_stats_route(
    app_key: AppKey,
    runtime: RuntimeDep,
    since: _Since = None,
    until: _Until = None,
    platform: _Platform = None,
    by: Annotated[
        Literal["total", "day", "platform", "app_version"],
        QueryParameter(description="Grouping: day (default), platform, app_version, total."),
    ] = "day",
) -> dict[str, Any]:
    """Session statistics of the key's app."""
    flt = SessionFilter(
        app_id=app_key.app_id,
        since=time_param(since, "since"),
        until=time_param(until, "until"),
        platform=platform,
    )
    rows = await asyncio.to_thread(session_stats, runtime.engine, flt, by=by)
    return {"by": by, "stats": rows}


@get(
    "/v1/sessions/{session_id:str}",
    name="show-session",
    summary="One session and its event timeline",
    description="By session id, or by the client's session_id. Needs the secret key.",
    tags=["sessions"],
    dependencies={"app_key": EVENTS_READ},
)
async def show_session_route(
    app_key: AppKey,
    runtime: RuntimeDep,
    session_id: Annotated[str, PathParameter(description="Session id or client session_id.")],
) -> dict[str, Any]:
    """One session of the key's app with its events, oldest first."""
    found = await asyncio.to_thread(get_session, runtime.engine, session_id, app_id=app_key.app_id)
    return {**session_dict(found, app_key.app_name), "events": timeline_dict(found)}


#: Handlers eventkit.builtins.sessions mounts (stats before the ``{session_id}`` path).
ROUTES = (list_sessions_route, session_stats_route, show_session_route)
