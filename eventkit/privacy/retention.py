"""Retention: purge raw events older than each app's ``retention_days``, keep rollups.

Only events already folded into the rollups (and, when the sessions job runs, already
sessionized) are purged, so reports over old periods keep their numbers. With the
events go their dedup keys, ``event_sessions`` rows, ``rollup_events_by_name`` rows
(the per-event copy funnels read) and sessions that ended before the cutoff. The
counting rollups stay. One transaction per ``privacy.purge_batch_events`` events, so
ingest writes in between.

On PostgreSQL with a partitioned ``events`` table, a monthly partition that is expired
for every app (it ends before the longest retention of any app) is dropped whole,
after its rows in the side tables are deleted in bulk; row deletes handle the rest.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.engine import Connection, Engine

from eventkit.config import Settings
from eventkit.privacy.audit import record_audit
from eventkit.privacy.policy import policy_from
from eventkit.privacy.rollups import lock_jobs
from eventkit.storage.dedup import delete_keys
from eventkit.storage.engine import writer
from eventkit.storage.errors import map_db_errors
from eventkit.storage.models import (
    APPS,
    EVENT_SESSIONS,
    EVENTS,
    SESSIONS,
)
from eventkit.storage.partitions import drop_partition, is_partitioned, list_partitions
from eventkit.timeutil import US_PER_DAY, now_us

__all__ = ["PurgeResult", "purge_expired", "retention_days"]

log = logging.getLogger("eventkit.privacy")
_E = EVENTS.c


@dataclass
class PurgeResult:
    """What one purge run deleted, per app id."""

    events: dict[int, int] = field(default_factory=dict)
    sessions: dict[int, int] = field(default_factory=dict)
    #: Monthly partitions dropped whole (PostgreSQL).
    partitions: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Raw events deleted."""
        return sum(self.events.values())


def retention_days(settings: Settings, conn: Connection) -> dict[int, int]:
    """Each app's effective retention in days (0: kept)."""
    return {
        int(a): policy_from(settings.privacy, int(a), (s or {}).get("privacy")).retention_days
        for a, s in conn.execute(select(APPS.c.id, APPS.c.settings))
    }


def _safe_id(settings: Settings, rollups: int, sessions: int) -> int:
    """The newest arrival id whose event the background jobs are done with."""
    safe = rollups if settings.aggregation.enabled else 2**62
    return min(safe, sessions) if settings.sessions.enabled else safe


def _purge_batch(conn: Connection, settings: Settings, app_id: int, cutoff: int) -> tuple[int, int]:
    """Delete one batch of the app's expired events; returns (events, sessions)."""
    safe = _safe_id(settings, *lock_jobs(conn))
    rows = conn.execute(
        select(_E.id, _E.app_id, _E.event_id, _E.name, _E.ts, _E.timestamp, _E.received_at)
        .where(_E.app_id == app_id, _E.ts < cutoff, _E.id <= safe)
        .order_by(_E.ts)
        .limit(settings.privacy.purge_batch_events)
    ).all()
    sessions = 0
    if not rows:
        sessions = conn.execute(
            delete(SESSIONS).where(SESSIONS.c.app_id == app_id, SESSIONS.c.last_event_at < cutoff)
        ).rowcount
        return 0, sessions
    ids = [int(r.id) for r in rows]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        conn.execute(delete(EVENT_SESSIONS).where(EVENT_SESSIONS.c.event_pk.in_(chunk)))
        conn.execute(delete(EVENTS).where(_E.id.in_(chunk)))
    delete_keys(conn, rows)
    conn.execute(
        text(
            "DELETE FROM rollup_events_by_name WHERE app_id = :a AND name = :n AND ts = :t "
            "AND id = :i"
        ),
        [{"a": app_id, "n": r.name, "t": r.ts, "i": r.id} for r in rows],
    )
    return len(rows), sessions


def _drop_partitions(
    engine: Engine, settings: Settings, days: dict[int, int], clock: int, result: PurgeResult
) -> list[str]:
    """Drop the monthly partitions expired for every app (PostgreSQL, partitioned)."""
    if engine.dialect.name != "postgresql" or not days or min(days.values()) <= 0:
        return []  # an app that keeps its events forever keeps every partition
    cutoff = clock - max(days.values()) * US_PER_DAY
    dropped: list[str] = []
    for part in list_partitions(engine):
        if part.end > cutoff:
            break  # oldest first
        with map_db_errors(), writer(engine).begin() as conn:
            if not is_partitioned(conn):
                break
            safe = _safe_id(settings, *lock_jobs(conn))
            name = conn.dialect.identifier_preparer.quote(part.name)
            newest = conn.execute(text(f"SELECT max(id) FROM {name}")).scalar()
            if newest is not None and int(newest) > safe:
                break  # the jobs have not folded it in yet; the next run drops it
            per_app = conn.execute(text(f"SELECT app_id, count(*) FROM {name} GROUP BY app_id"))
            for app_id, n in per_app:
                result.events[int(app_id)] = result.events.get(int(app_id), 0) + int(n)
            # Dedup keys go too, as with the row purge below.
            drop_partition(conn, part.name, keep_keys=False)
        dropped.append(part.name)
        log.info("retention: dropped partition %s (expired for every app)", part.name)
    return dropped


def purge_expired(
    engine: Engine, settings: Settings, *, now: int | None = None, actor: str = "retention"
) -> PurgeResult:
    """Purge every app's expired raw events (the daily job's body)."""
    clock = now_us() if now is None else now
    result = PurgeResult()
    with map_db_errors(), engine.connect() as conn:
        days = retention_days(settings, conn)
    result.partitions = _drop_partitions(engine, settings, days, clock, result)
    for app_id, keep in sorted(days.items()):
        if keep <= 0:
            continue
        cutoff = clock - keep * US_PER_DAY
        events = result.events.pop(app_id, 0)
        sessions = 0
        while True:
            with map_db_errors(), writer(engine).begin() as conn:
                n, s = _purge_batch(conn, settings, app_id, cutoff)
            events += n
            sessions += s
            if n == 0:  # the last pass also deleted the sessions that ended before
                break
        if events or sessions:
            result.events[app_id] = events
            result.sessions[app_id] = sessions
            details: dict[str, Any] = {
                "events": events,
                "sessions": sessions,
                "retention_days": keep,
                "cutoff": cutoff,
            }
            with map_db_errors(), writer(engine).begin() as conn:
                record_audit(conn, app_id, "retention_purge", actor, details)
            log.info("retention: app %d: purged %d events, %d sessions", app_id, events, sessions)
    return result
