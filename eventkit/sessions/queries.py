"""Reading sessions: lists, one session's timeline, and summary statistics.

One implementation behind the CLI, the HTTP API (and later the TUI).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.engine import Engine

from eventkit.errors import NotFoundError
from eventkit.sessions.days import Part, day_parts, kth, raw_parts
from eventkit.storage.errors import map_db_errors
from eventkit.storage.models import EVENT_SESSIONS, EVENTS, SESSIONS
from eventkit.timeutil import US_PER_SECOND

__all__ = [
    "GROUPINGS",
    "Grouping",
    "SessionFilter",
    "get_session",
    "list_sessions",
    "session_stats",
]

_S = SESSIONS.c
Grouping = Literal["total", "day", "platform", "app_version"]
GROUPINGS: tuple[str, ...] = ("total", "day", "platform", "app_version")


@dataclass(frozen=True)
class SessionFilter:
    """Which sessions to read. Times (epoch µs) bound ``started_at``: since ≤ t < until."""

    app_id: int | None = None
    user_id: str | None = None
    since: int | None = None
    until: int | None = None
    platform: str | None = None
    is_open: bool | None = None


def _conditions(flt: SessionFilter) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if flt.app_id is not None:
        conds.append(_S.app_id == flt.app_id)
    if flt.user_id:
        conds.append(_S.user_id == flt.user_id)
    if flt.since is not None:
        conds.append(_S.started_at >= flt.since)
    if flt.until is not None:
        conds.append(_S.started_at < flt.until)
    if flt.platform:
        conds.append(_S.platform == flt.platform)
    if flt.is_open is not None:
        conds.append(_S.is_open.is_(flt.is_open))
    return conds


def list_sessions(engine: Engine, flt: SessionFilter, *, limit: int = 100) -> list[dict[str, Any]]:
    """Sessions matching ``flt``, newest start first, as plain dicts (table columns)."""
    stmt = (
        select(SESSIONS).where(*_conditions(flt)).order_by(_S.started_at.desc(), _S.id).limit(limit)
    )
    with map_db_errors(), engine.connect() as conn:
        return [dict(r) for r in conn.execute(stmt).mappings()]


def get_session(engine: Engine, ident: str, *, app_id: int | None = None) -> dict[str, Any]:
    """One session with its event timeline (``events``: oldest first).

    ``ident`` is the session id, or the client's ``session_id`` when that names exactly
    one session.

    Raises:
        NotFoundError: no such session (in this app), or the client id is ambiguous.
    """
    conds: list[ColumnElement[bool]] = [or_(_S.id == ident, _S.client_session_id == ident)]
    if app_id is not None:
        conds.append(_S.app_id == app_id)
    with map_db_errors(), engine.connect() as conn:
        found = [dict(r) for r in conn.execute(select(SESSIONS).where(*conds)).mappings()]
        exact = [s for s in found if s["id"] == ident]
        if exact:
            found = exact
        if not found:
            raise NotFoundError(
                f"no session {ident!r}; `eventkit sessions list` (or GET /v1/sessions) "
                "shows session ids"
            )
        if len(found) > 1:
            ids = ", ".join(s["id"] for s in found[:5])
            raise NotFoundError(
                f"{len(found)} sessions (on different devices) have the client session id "
                f"{ident!r}; use one of the session ids: {ids}"
            )
        session = found[0]
        e = EVENTS.c
        rows = conn.execute(
            select(e.id, e.event_id, e.name, e.ts, e.user_id, e.properties)
            .select_from(EVENT_SESSIONS.join(EVENTS, e.id == EVENT_SESSIONS.c.event_pk))
            .where(
                EVENT_SESSIONS.c.app_id == session["app_id"],
                EVENT_SESSIONS.c.device_key == session["device_key"],
                EVENT_SESSIONS.c.ts >= session["started_at"],
                EVENT_SESSIONS.c.ts <= session["last_event_at"],
                EVENT_SESSIONS.c.session_id == session["id"],
            )
        ).all()
    timeline = sorted(rows, key=lambda r: (r.ts, r.event_id.bytes))
    session["events"] = [
        {
            "ts": r.ts,
            "name": r.name,
            "event_id": str(r.event_id),
            "user_id": r.user_id,
            "properties": r.properties,
        }
        for r in timeline
    ]
    return session


def _summary(group: str, parts: Sequence[Part]) -> dict[str, Any]:
    n = sum(p.sessions for p in parts)
    arrays = [p.durations for p in parts]
    if n % 2:
        median = kth(arrays, n // 2 + 1) / US_PER_SECOND
    else:
        median = (kth(arrays, n // 2) / US_PER_SECOND + kth(arrays, n // 2 + 1) / US_PER_SECOND) / 2
    p90 = kth(arrays, max(1, math.ceil(90 / 100 * n))) / US_PER_SECOND
    return {
        "group": group,
        "sessions": n,
        "median_duration_s": round(median, 3),
        "p90_duration_s": round(float(p90), 3),
        "events_per_session": round(sum(p.events for p in parts) / n, 3),
        "bounce_rate": round(sum(p.bounced for p in parts) / n, 4),
    }


def _key(part: Part, by: Grouping) -> str:
    if by == "day":
        return datetime.fromtimestamp(part.day / US_PER_SECOND, tz=UTC).date().isoformat()
    if by == "platform":
        return part.platform or "(none)"
    if by == "app_version":
        return part.app_version or "(none)"
    return "all"


def _parts(engine: Engine, flt: SessionFilter) -> list[Part]:
    """The filtered sessions as per-day parts: from ``session_days`` for one app
    (``eventkit.sessions.days``), straight from ``sessions`` for a user, for open or
    closed sessions only, or for every app."""
    with map_db_errors(), engine.connect() as conn:
        if flt.app_id is not None and not flt.user_id and flt.is_open is None:
            if conn.dialect.name == "postgresql":
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            return day_parts(conn, flt.app_id, flt.since, flt.until, flt.platform)
        return raw_parts(conn, _conditions(flt))


def session_stats(
    engine: Engine, flt: SessionFilter, *, by: Grouping = "day"
) -> list[dict[str, Any]]:
    """Count, median and p90 duration (seconds), events per session and bounce rate,
    one row per group (UTC day of the start, platform, or app version) then ``all``.

    The median of an even count is the mean of the two middle values; p90 is
    nearest-rank. Open sessions count with their duration so far. Exact for any range:
    per-day rows keep every duration (docs/sessions.md, "Statistics at scale").
    """
    parts = _parts(engine, flt)
    if not parts:
        return []
    out: list[dict[str, Any]] = []
    if by != "total":
        groups: dict[str, list[Part]] = {}
        for part in parts:
            groups.setdefault(_key(part, by), []).append(part)
        out = [_summary(k, v) for k, v in sorted(groups.items())]
    out.append(_summary("all", parts))
    return out
