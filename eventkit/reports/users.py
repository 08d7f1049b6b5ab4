"""A user's timeline: the profile (traits, linked devices) and their events."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from eventkit.errors import NotFoundError
from eventkit.reports.events import event_record
from eventkit.storage.events import EventFilter, query_events
from eventkit.storage.users import get_profile

__all__ = ["user_timeline"]


def user_timeline(engine: Engine, app_id: int, user_id: str, *, limit: int = 50) -> dict[str, Any]:
    """The profile of ``user_id`` (or of a device id) and their newest events (each an
    :func:`~eventkit.reports.events.event_record`).

    Raises:
        NotFoundError: no profile and no events for this id.
    """
    profile = get_profile(engine, app_id, user_id)
    ids = [("user", user_id), ("device", user_id)]
    if profile is not None:
        ids += [("device", a) for a in profile["anonymous_ids"]]
    seen: dict[Any, Any] = {}
    for kind, value in ids:
        flt = (
            EventFilter(app_id=app_id, user_id=value)
            if kind == "user"
            else EventFilter(app_id=app_id, anonymous_id=value)
        )
        for e in query_events(engine, flt, limit=limit):
            seen[e.id] = e
    events = sorted(seen.values(), key=lambda e: (e.ts, e.id), reverse=True)[:limit]
    if profile is None and not events:
        raise NotFoundError(
            f"no user or device {user_id!r} in this app; `eventkit events list` shows recent ids"
        )
    return {
        "profile": profile
        or {
            "user_id": user_id,
            "traits": {},
            "first_seen": None,
            "last_seen": None,
            "anonymous_ids": [],
        },
        "events": [event_record(e) for e in events],
    }
