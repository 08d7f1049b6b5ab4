"""The sessions job: sessionize new events incrementally and close idle sessions.

Runs off the ingest path, in the scheduler loop. Each run reads events past the
``events.id`` watermark (``session_state``), maps each to its device timeline
(``event_sessions``), and recomputes, per touched device, the window of sessions that
the new events can join or split. Plain functions: the scheduler only calls
:func:`run_sessions_job`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, delete, select, text, update
from sqlalchemy.engine import Connection, Engine

from eventkit.config import Settings
from eventkit.sessions.backfill import backfill_paths
from eventkit.sessions.days import refresh_session_days
from eventkit.sessions.recompute import (
    Changes,
    recompute_client,
    recompute_device,
    stored_sessions,
    timeline_events,
)
from eventkit.sessions.rules import AppRules, app_rules
from eventkit.sessions.timeline import TimelineEvent, client_session_uuid
from eventkit.storage.engine import writer
from eventkit.storage.errors import map_db_errors
from eventkit.storage.models import APPS, EVENT_SESSIONS, EVENTS, SESSION_STATE, SESSIONS
from eventkit.timeutil import US_PER_SECOND, now_us

__all__ = [
    "BATCH_COLUMNS",
    "JobResult",
    "bump_generation",
    "close_idle_sessions",
    "device_key",
    "load_rules",
    "lock_watermark",
    "plan_rows",
    "rebuild_sessions",
    "run_sessions_job",
    "sessionize_pending",
]

log = logging.getLogger("eventkit.sessions")

WATERMARK = "watermark"
#: Bumped when stored events are deleted; a run whose plan predates it plans again.
GENERATION = "generation"
_E = EVENTS.c
_M = EVENT_SESSIONS.c
_S = SESSIONS.c


@dataclass(frozen=True)
class JobResult:
    """What one run did."""

    events: int = 0
    devices: int = 0
    sessions_written: int = 0
    sessions_closed: int = 0
    watermark: int = 0


def device_key(anonymous_id: str | None, user_id: str | None) -> str | None:
    """Whose timeline an event is on: its device, else its user, else nobody."""
    if anonymous_id:
        return anonymous_id
    if user_id:
        return f"user:{user_id}"
    return None


def load_rules(conn: Connection, settings: Settings) -> dict[int, AppRules]:
    """Every app's session rules (config plus ``apps.settings.sessions``)."""
    rows = conn.execute(select(APPS.c.id, APPS.c.settings)).all()
    return {int(r.id): app_rules(settings.sessions, r.settings) for r in rows}


def _rules(rules: dict[int, AppRules], app_id: int, settings: Settings) -> AppRules:
    found = rules.get(app_id)
    if found is None:  # events of a deleted app
        found = rules[app_id] = app_rules(settings.sessions, None)
    return found


# ---------------------------------------------------------------- state


def lock_watermark(conn: Connection) -> int:
    """Read the watermark, holding a lock that serializes job runs across nodes (and
    erasures, eventkit.privacy): a row lock on PostgreSQL; on SQLite the writer
    transaction (BEGIN IMMEDIATE) already excludes other writers."""
    conn.execute(
        text("INSERT INTO session_state (name, value) VALUES (:n, 0) ON CONFLICT DO NOTHING"),
        {"n": WATERMARK},
    )
    stmt = select(SESSION_STATE.c.value).where(SESSION_STATE.c.name == WATERMARK)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return int(conn.execute(stmt).scalar_one())


def _advance(rows: Sequence[Any], watermark: int, now: int, settle_us: int) -> int:
    """How many of ``rows`` (ordered by id) can be processed now.

    A hole in the arrival ids may be a transaction that has not committed yet
    (PostgreSQL hands out ids before commit): stop before it until it is older than
    ``settle_seconds``; then it was rolled back, or its rows were purged.
    """
    expected = watermark + 1
    for i, row in enumerate(rows):
        if row.id != expected and row.received_at > now - settle_us:
            return i
        expected = row.id + 1
    return len(rows)


# ---------------------------------------------------------------- one batch


#: The event columns a sessions batch reads (see :func:`plan_rows`).
BATCH_COLUMNS = (
    "id, event_id, ts, name, user_id, anonymous_id, platform, app_version, app_id, "
    "session_id, received_at"
)
_BATCH_SQL = f"SELECT {BATCH_COLUMNS} FROM events WHERE id > {{p}} ORDER BY id LIMIT {{p}}"


def _read_watermark(conn: Connection) -> int:
    stmt = select(SESSION_STATE.c.value).where(SESSION_STATE.c.name == WATERMARK)
    return int(conn.execute(stmt).scalar() or 0)


def _read_generation(conn: Connection) -> int:
    stmt = select(SESSION_STATE.c.value).where(SESSION_STATE.c.name == GENERATION)
    return int(conn.execute(stmt).scalar() or 0)


def bump_generation(conn: Connection) -> None:
    """Make a job run that planned before this transaction plan again: called by
    whatever deletes stored events (erasure, retention) in its write transaction."""
    conn.execute(
        text(
            "INSERT INTO session_state (name, value) VALUES (:n, 1) "
            "ON CONFLICT (name) DO UPDATE SET value = session_state.value + 1"
        ),
        {"n": GENERATION},
    )


def plan_rows(conn: Connection, rows: Sequence[Any], settings: Settings, now: int) -> Changes:
    """The session changes that sessionizing ``rows`` (columns of the job's batch
    query, ordered by id) makes, given the sessions already stored (reads only)."""
    return _plan(conn, rows, settings, now)[0]


def _plan(
    conn: Connection, rows: Sequence[Any], settings: Settings, now: int
) -> tuple[Changes, int]:
    """Map a batch of new events to devices and compute the session changes they make
    (reads only). Returns the changes and the number of devices touched."""
    rules = load_rules(conn, settings)
    events = timeline_events(conn, rows)
    changes = Changes(now)
    devices: dict[tuple[int, str], list[TimelineEvent]] = {}
    clients: dict[tuple[int, str, str], list[TimelineEvent]] = {}
    client_ids: dict[tuple[int, str, str], str] = {}
    for r, e in zip(rows, events, strict=True):
        dkey = device_key(r.anonymous_id, r.user_id)
        if dkey is None:
            continue
        csid = r.session_id or None
        sid = None
        if csid:
            key = (r.app_id, dkey, csid)
            clients.setdefault(key, []).append(e)
            sid = client_ids.get(key) or client_ids.setdefault(key, client_session_uuid(*key))
        else:
            devices.setdefault((r.app_id, dkey), []).append(e)
        changes.fresh[e.pk] = [e.pk, r.app_id, dkey, e.ts, csid, sid, e.name, e.screen]
    by_app: dict[int, list[str]] = {}
    for app_id, dkey in devices:
        by_app.setdefault(app_id, []).append(dkey)
    for app_id, dkeys in by_app.items():
        stored = stored_sessions(conn, app_id, dkeys)
        app = _rules(rules, app_id, settings)
        for dkey in dkeys:
            new = devices[(app_id, dkey)]
            recompute_device(conn, app_id, dkey, new, stored.get(dkey, []), app, changes)
    if clients:
        ids = {sid: key for key, sid in client_ids.items()}
        ordered = sorted(ids)
        found = {
            row.id: row
            for start in range(0, len(ordered), 500)
            for row in conn.execute(select(SESSIONS).where(_S.id.in_(ordered[start : start + 500])))
        }
        for sid, (app_id, dkey, csid) in ids.items():
            new = clients[(app_id, dkey, csid)]
            app = _rules(rules, app_id, settings)
            recompute_client(conn, app_id, dkey, csid, new, found.get(sid), app, changes)
    return changes, len(set(devices) | {(a, d) for a, d, _ in clients})


def _one_batch(engine: Engine, settings: Settings, now: int) -> tuple[JobResult, bool]:
    """Sessionize one batch. Returns the result and whether to run another batch.

    Reading and computing happen in a read transaction; only the writes take the
    write lock (on SQLite, ingest waits for it), after checking that no other run
    moved the watermark meanwhile (if one did, the batch is planned again).
    """
    limit = settings.sessions.batch_events
    settle = round(settings.sessions.settle_seconds * US_PER_SECOND)
    with map_db_errors(), engine.connect() as conn, conn.begin():
        watermark = _read_watermark(conn)
        generation = _read_generation(conn)
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        rows = conn.exec_driver_sql(_BATCH_SQL.format(p=mark), (watermark, limit)).all()
        take = _advance(rows, watermark, now, settle)
        rows = rows[:take]
        if not rows:
            return JobResult(watermark=watermark), False
        changes, devices = _plan(conn, rows, settings, now)
    new_mark = int(rows[-1].id)
    with map_db_errors(), writer(engine).connect() as conn, conn.begin():
        if lock_watermark(conn) != watermark or _read_generation(conn) != generation:
            log.info("sessions: another run moved the watermark; planning the batch again")
            return JobResult(watermark=watermark), True
        written = changes.write(conn)
        conn.execute(
            update(SESSION_STATE).where(SESSION_STATE.c.name == WATERMARK).values(value=new_mark)
        )
    return JobResult(len(rows), devices, written, 0, new_mark), take == limit


def sessionize_pending(
    engine: Engine, settings: Settings, *, now: int | None = None, max_batches: int = 1000
) -> JobResult:
    """Sessionize every event that arrived since the last run (in batches of
    ``sessions.batch_events``, one transaction each, so ingest can write in between)."""
    clock = now_us() if now is None else now
    events = devices = written = 0
    mark = 0
    for _ in range(max_batches):
        res, more = _one_batch(engine, settings, clock)
        events += res.events
        devices += res.devices
        written += res.sessions_written
        mark = res.watermark
        if not more:
            break
    return JobResult(events, devices, written, 0, mark)


def close_idle_sessions(engine: Engine, settings: Settings, *, now: int | None = None) -> int:
    """Close open sessions whose last event is older than their inactivity timeout.

    Returns how many were closed. ``ended_at`` is set to the last event's time.
    """
    clock = now_us() if now is None else now
    with map_db_errors(), writer(engine).connect() as conn, conn.begin():
        rules = load_rules(conn, settings)
        shortest = min(
            (t.inactivity for r in rules.values() for t in (r.default, *r.platforms.values())),
            default=app_rules(settings.sessions, None).default.inactivity,
        )
        candidates = conn.execute(
            select(_S.id, _S.app_id, _S.platform, _S.last_event_at).where(
                and_(_S.is_open.is_(True), _S.last_event_at < clock - shortest)
            )
        ).all()
        idle = [
            {"sid": c.id, "end": c.last_event_at}
            for c in candidates
            if clock - c.last_event_at
            > _rules(rules, c.app_id, settings).for_platform(c.platform).inactivity
        ]
        if idle:
            conn.execute(
                update(SESSIONS)
                .where(_S.id == bindparam("sid"))
                .values(is_open=False, ended_at=bindparam("end")),
                idle,
            )
    return len(idle)


def run_sessions_job(engine: Engine, settings: Settings, *, now: int | None = None) -> JobResult:
    """The scheduled job body: sessionize new events, close idle sessions, then
    rewrite the per-day statistics of the days that changed."""
    clock = now_us() if now is None else now
    res = sessionize_pending(engine, settings, now=clock)
    closed = close_idle_sessions(engine, settings, now=clock)
    refresh_session_days(engine)
    backfill_paths(engine)
    if res.events or closed:
        log.info(
            "sessions: %d events on %d devices, %d sessions written, %d closed",
            res.events,
            res.devices,
            res.sessions_written,
            closed,
        )
    return JobResult(res.events, res.devices, res.sessions_written, closed, res.watermark)


def rebuild_sessions(engine: Engine, settings: Settings, *, now: int | None = None) -> JobResult:
    """Forget every session and sessionize all stored events again (after changing
    timeouts: stored sessions keep the rules they were cut with)."""
    with map_db_errors(), writer(engine).connect() as conn, conn.begin():
        conn.execute(delete(SESSIONS))
        conn.execute(delete(EVENT_SESSIONS))
        conn.execute(delete(SESSION_STATE))
    return run_sessions_job(engine, settings, now=now)
