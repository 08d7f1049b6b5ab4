"""The sessions job: sessionize new events incrementally and close idle sessions.

Runs off the ingest path, in the scheduler loop. Each run reads events past the
``events.id`` watermark (``session_state``), maps each to its device timeline
(``event_sessions``), and recomputes, per touched device, the window of sessions that
the new events can join or split. Plain functions: the scheduler only calls
:func:`run_sessions_job`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, delete, insert, select, text, update
from sqlalchemy.engine import Connection, Engine

from eventkit.config import Settings
from eventkit.sessions.rules import AppRules, app_rules
from eventkit.sessions.timeline import (
    SCREEN,
    SessionDraft,
    TimelineEvent,
    client_session_uuid,
    cut,
    server_session_uuid,
    summarize,
)
from eventkit.storage.engine import writer
from eventkit.storage.errors import map_db_errors
from eventkit.storage.models import APPS, EVENT_SESSIONS, EVENTS, SESSION_STATE, SESSIONS
from eventkit.timeutil import US_PER_SECOND, now_us

__all__ = [
    "JobResult",
    "close_idle_sessions",
    "device_key",
    "load_rules",
    "rebuild_sessions",
    "run_sessions_job",
    "sessionize_pending",
]

log = logging.getLogger("eventkit.sessions")

WATERMARK = "watermark"
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


def _lock_watermark(conn: Connection) -> int:
    """Read the watermark, holding a lock that serializes job runs across nodes."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            text("INSERT INTO session_state (name, value) VALUES (:n, 0) ON CONFLICT DO NOTHING"),
            {"n": WATERMARK},
        )
        stmt = select(SESSION_STATE.c.value).where(SESSION_STATE.c.name == WATERMARK)
        return int(conn.execute(stmt.with_for_update()).scalar_one())
    # SQLite: the writer transaction (BEGIN IMMEDIATE) already excludes other writers.
    conn.execute(
        text("INSERT OR IGNORE INTO session_state (name, value) VALUES (:n, 0)"), {"n": WATERMARK}
    )
    stmt = select(SESSION_STATE.c.value).where(SESSION_STATE.c.name == WATERMARK)
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


# ---------------------------------------------------------------- reading


def _screens(conn: Connection, pks: list[int]) -> dict[int, str | None]:
    """Screen names of ``$screen`` events: ``properties.$screen_name``, else ``screen``."""
    out: dict[int, str | None] = {}
    for start in range(0, len(pks), 500):
        chunk = pks[start : start + 500]
        for pk, props in conn.execute(select(_E.id, _E.properties).where(_E.id.in_(chunk))):
            name = None
            if isinstance(props, dict):
                name = props.get("$screen_name") or props.get("screen")
            out[int(pk)] = str(name)[:200] if name is not None else None
    return out


_COLS = (_E.id, _E.event_id, _E.ts, _E.name, _E.user_id, _E.anonymous_id, _E.platform)


def _timeline(conn: Connection, rows: Iterable[Any]) -> list[TimelineEvent]:
    rows = list(rows)
    screens = _screens(conn, [int(r.id) for r in rows if r.name == SCREEN])
    return [
        TimelineEvent(
            pk=int(r.id),
            event_id=r.event_id,
            ts=int(r.ts),
            name=r.name,
            user_id=r.user_id,
            anonymous_id=r.anonymous_id,
            platform=r.platform,
            app_version=r.app_version,
            screen=screens.get(int(r.id)),
        )
        for r in rows
    ]


def _mapped_events(conn: Connection, *conds: Any) -> tuple[list[TimelineEvent], dict[int, Any]]:
    """Events in ``event_sessions`` matching ``conds``, and their current session ids."""
    stmt = (
        select(*_COLS, _E.app_version, _M.session_id.label("mapped"))
        .select_from(EVENT_SESSIONS.join(EVENTS, _E.id == _M.event_pk))
        .where(*conds)
    )
    rows = conn.execute(stmt).all()
    return _timeline(conn, rows), {int(r.id): r.mapped for r in rows}


# ---------------------------------------------------------------- writing


def _session_row(
    app_id: int, dkey: str, d: SessionDraft, rules: AppRules, now: int
) -> dict[str, Any]:
    timeout = rules.for_platform(d.platform).inactivity
    is_open = not d.ended_by_client and now - d.last_event_at <= timeout
    return {
        "id": d.id,
        "app_id": app_id,
        "device_key": dkey,
        "client_session_id": d.client_session_id,
        "user_id": d.user_id,
        "anonymous_id": d.anonymous_id,
        "platform": d.platform,
        "app_version": d.app_version,
        "started_at": d.started_at,
        "last_event_at": d.last_event_at,
        "ended_at": None if is_open else d.last_event_at,
        "duration_us": d.duration_us,
        "event_count": d.event_count,
        "screen_count": d.screen_count,
        "entry_screen": d.entry_screen,
        "exit_screen": d.exit_screen,
        "bounced": d.bounced,
        "is_open": is_open,
        "first_event_pk": d.first_event_pk,
    }


def _replace(
    conn: Connection,
    old_ids: Sequence[str],
    rows: list[dict[str, Any]],
    drafts: Sequence[SessionDraft],
    mapped: dict[int, Any],
) -> None:
    """Swap sessions ``old_ids`` for ``rows`` and repoint the events that moved."""
    if old_ids:
        conn.execute(delete(SESSIONS).where(_S.id.in_(list(old_ids))))
    if rows:
        conn.execute(insert(SESSIONS), rows)
    moved = [
        {"pk": pk, "sid": d.id} for d in drafts for pk in d.event_pks if mapped.get(pk) != d.id
    ]
    if moved:
        stmt = (
            update(EVENT_SESSIONS)
            .where(_M.event_pk == bindparam("pk"))
            .values(session_id=bindparam("sid"))
        )
        conn.execute(stmt, moved)


def _window(stored: Sequence[Any], lo: int, hi: int, gap: int) -> tuple[int, int, list[str]]:
    """The time window new events in [lo, hi] can reach, and the sessions inside it.

    Sessions closer than ``gap`` to each other may shift together (a cut by maximum
    length moves when an earlier event arrives), so the window grows along such
    chains; a gap wider than any inactivity timeout is a cut no event can move.
    """
    hits = [
        i for i, s in enumerate(stored) if s.last_event_at >= lo - gap and s.started_at <= hi + gap
    ]
    if not hits:
        return lo, hi, []
    first, last = hits[0], hits[-1]
    while first > 0 and stored[first].started_at - stored[first - 1].last_event_at <= gap:
        first -= 1
    while (
        last + 1 < len(stored) and stored[last + 1].started_at - stored[last].last_event_at <= gap
    ):
        last += 1
    lo = min(lo, stored[first].started_at)
    hi = max(hi, stored[last].last_event_at)
    return lo, hi, [s.id for s in stored[first : last + 1]]


def _recompute_server(
    conn: Connection, app_id: int, dkey: str, lo: int, hi: int, rules: AppRules, now: int
) -> int:
    base = (_M.app_id == app_id, _M.device_key == dkey, _M.client_session_id.is_(None))
    stored = conn.execute(
        select(_S.id, _S.started_at, _S.last_event_at)
        .where(_S.app_id == app_id, _S.device_key == dkey, _S.client_session_id.is_(None))
        .order_by(_S.started_at)
    ).all()
    lo, hi, old_ids = _window(stored, lo, hi, rules.widest_gap)
    events, mapped = _mapped_events(conn, *base, _M.ts >= lo, _M.ts <= hi)
    drafts = [
        summarize(server_session_uuid(app_id, dkey, group[0].event_id), group, rules)
        for group in cut(events, rules)
    ]
    rows = [_session_row(app_id, dkey, d, rules, now) for d in drafts]
    _replace(conn, old_ids, rows, drafts, mapped)
    return len(rows)


def _recompute_client(
    conn: Connection, app_id: int, dkey: str, csid: str, rules: AppRules, now: int
) -> int:
    sid = client_session_uuid(app_id, dkey, csid)
    events, mapped = _mapped_events(conn, _M.session_id == sid)
    draft = summarize(sid, events, rules, client_session_id=csid)
    _replace(conn, [sid], [_session_row(app_id, dkey, draft, rules, now)], [draft], mapped)
    return 1


def _process(conn: Connection, rows: Sequence[Any], settings: Settings, now: int) -> JobResult:
    rules = load_rules(conn, settings)
    mapping: list[dict[str, Any]] = []
    spans: dict[tuple[int, str], list[int]] = {}
    clients: set[tuple[int, str, str]] = set()
    for r in rows:
        dkey = device_key(r.anonymous_id, r.user_id)
        if dkey is None:
            continue
        csid = r.session_id or None
        sid = client_session_uuid(r.app_id, dkey, csid) if csid else None
        mapping.append(
            {
                "event_pk": r.id,
                "app_id": r.app_id,
                "device_key": dkey,
                "ts": r.ts,
                "client_session_id": csid,
                "session_id": sid,
            }
        )
        if csid:
            clients.add((r.app_id, dkey, csid))
        else:
            span = spans.setdefault((r.app_id, dkey), [r.ts, r.ts])
            span[0], span[1] = min(span[0], r.ts), max(span[1], r.ts)
    if mapping:
        conn.execute(insert(EVENT_SESSIONS), mapping)
    written = 0
    for (app_id, dkey), (lo, hi) in spans.items():
        written += _recompute_server(
            conn, app_id, dkey, lo, hi, _rules(rules, app_id, settings), now
        )
    for app_id, dkey, csid in clients:
        written += _recompute_client(conn, app_id, dkey, csid, _rules(rules, app_id, settings), now)
    devices = len(spans) + len({(a, d) for a, d, _ in clients} - set(spans))
    return JobResult(events=len(rows), devices=devices, sessions_written=written)


def _one_batch(engine: Engine, settings: Settings, now: int) -> tuple[JobResult, bool]:
    """Sessionize one batch in one transaction. Returns the result and whether more
    events may be waiting."""
    limit = settings.sessions.batch_events
    settle = round(settings.sessions.settle_seconds * US_PER_SECOND)
    with map_db_errors(), writer(engine).connect() as conn, conn.begin():
        watermark = _lock_watermark(conn)
        rows = conn.execute(
            select(
                _E.id,
                _E.app_id,
                _E.ts,
                _E.user_id,
                _E.anonymous_id,
                _E.session_id,
                _E.received_at,
            )
            .where(_E.id > watermark)
            .order_by(_E.id)
            .limit(limit)
        ).all()
        take = _advance(rows, watermark, now, settle)
        rows = rows[:take]
        if not rows:
            return JobResult(watermark=watermark), False
        result = _process(conn, rows, settings, now)
        new_mark = int(rows[-1].id)
        conn.execute(
            update(SESSION_STATE).where(SESSION_STATE.c.name == WATERMARK).values(value=new_mark)
        )
    more = take == limit
    return JobResult(result.events, result.devices, result.sessions_written, 0, new_mark), more


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
    """The scheduled job body: sessionize new events, then close idle sessions."""
    clock = now_us() if now is None else now
    res = sessionize_pending(engine, settings, now=clock)
    closed = close_idle_sessions(engine, settings, now=clock)
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
