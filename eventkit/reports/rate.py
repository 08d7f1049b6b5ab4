"""Events per minute over a short recent window: the dashboard's live chart.

The rollups stop at hours, so this reads raw events by ``(app_id, ts)`` (the index
``events`` already has); it is meant for windows of an hour or so.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from eventkit.storage.errors import map_db_errors
from eventkit.storage.models import EVENTS

__all__ = ["US_PER_MINUTE", "events_per_minute"]

US_PER_MINUTE = 60_000_000


def events_per_minute(engine: Engine, app_id: int, since: int, until: int) -> list[int]:
    """Counts of events (corrected time) per minute from ``since`` to ``until``
    (exclusive), oldest first; one entry per minute, zero when there were none."""
    c = EVENTS.c
    minute = ((c.ts - since) // US_PER_MINUTE).label("minute")
    stmt = (
        select(minute, func.count())
        .where(c.app_id == app_id, c.ts >= since, c.ts < until)
        .group_by(minute)
    )
    size = max(0, -(-(until - since) // US_PER_MINUTE))
    out = [0] * size
    with map_db_errors(), engine.connect() as conn:
        for m, n in conn.execute(stmt).all():
            if 0 <= int(m) < size:
                out[int(m)] = int(n)
    return out
