"""Recompute the sessions a batch of new events touches, per device.

Two paths with the same result (docs/sessions.md, "Exactness"):

- **append** (the common case: events arrive in time order): every new event of a
  device is later than the last event of its latest session. The cut resumes from
  that stored session (:func:`~eventkit.sessions.timeline.cut_after`), reading no old
  events;
- **window** (late or out-of-order events): the window of sessions the new events can
  join or split is cut again from its stored events.

Changes are collected in :class:`Changes` and written with a few statements per batch.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection

from eventkit.sessions.rules import AppRules
from eventkit.sessions.timeline import (
    SCREEN,
    SessionDraft,
    TimelineEvent,
    absorb,
    client_session_uuid,
    cut,
    cut_after,
    fold,
    screen_of,
    server_session_uuid,
    summarize,
)
from eventkit.storage.models import EVENT_SESSIONS, EVENTS, SESSIONS

__all__ = [
    "EVENT_COLUMNS",
    "Changes",
    "read_screens",
    "recompute_client",
    "recompute_device",
    "stored_sessions",
    "timeline_events",
]

_E = EVENTS.c
_M = EVENT_SESSIONS.c
_S = SESSIONS.c
_CHUNK = 500


@dataclass
class Changes:
    """Session rows to replace and events to repoint, written once per batch."""

    now: int
    delete_ids: set[str] = field(default_factory=set)
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    moved: list[dict[str, Any]] = field(default_factory=list)
    #: ``event_sessions`` rows of this batch's events, by event pk:
    #: [event_pk, app_id, device_key, ts, client_session_id, session_id, name, screen].
    fresh: dict[int, list[Any]] = field(default_factory=dict)

    def put(
        self,
        app_id: int,
        dkey: str,
        drafts: Iterable[SessionDraft],
        rules: AppRules,
        mapped: dict[int, Any] | None = None,
    ) -> None:
        """Store ``drafts``; events whose mapped session differs are repointed."""
        for d in drafts:
            self.rows[d.id] = _session_row(app_id, dkey, d, rules, self.now)
            for pk in d.event_pks:
                row = self.fresh.get(pk)
                if row is not None:
                    row[5] = d.id
                elif mapped is None or mapped.get(pk) != d.id:
                    self.moved.append({"pk": pk, "sid": d.id})

    def write(self, conn: Connection) -> int:
        """Apply the changes; returns the number of session rows written."""
        ids = sorted(self.delete_ids | set(self.rows))
        for start in range(0, len(ids), _CHUNK):
            conn.execute(delete(SESSIONS).where(_S.id.in_(ids[start : start + _CHUNK])))
        if self.rows:
            conn.execute(insert(SESSIONS), list(self.rows.values()))
        if self.fresh:
            # Plain DBAPI executemany: one row per event, the job's hottest statement.
            mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
            conn.exec_driver_sql(
                "INSERT INTO event_sessions (event_pk, app_id, device_key, ts, "
                f"client_session_id, session_id, name, screen) VALUES ({', '.join([mark] * 8)})",
                [tuple(r) for r in self.fresh.values()],
            )
        if self.moved:
            stmt = (
                update(EVENT_SESSIONS)
                .where(_M.event_pk == bindparam("pk"))
                .values(session_id=bindparam("sid"))
            )
            conn.execute(stmt, self.moved)
        return len(self.rows)


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
        "last_event_name": d.last_event_name,
        "first_event_pk": d.first_event_pk,
    }


def _draft(row: Any) -> SessionDraft:
    """A stored session as the seed of an append."""
    return SessionDraft(
        id=row.id,
        client_session_id=row.client_session_id,
        user_id=row.user_id,
        anonymous_id=row.anonymous_id,
        platform=row.platform,
        app_version=row.app_version,
        started_at=row.started_at,
        last_event_at=row.last_event_at,
        duration_us=row.duration_us,
        event_count=row.event_count,
        screen_count=row.screen_count,
        entry_screen=row.entry_screen,
        exit_screen=row.exit_screen,
        bounced=row.bounced,
        last_event_name=row.last_event_name,
        first_event_pk=row.first_event_pk,
        event_pks=(),
    )


def read_screens(conn: Connection, pks: Sequence[int]) -> dict[int, str | None]:
    """Screen names of ``$screen`` events (:func:`~eventkit.sessions.timeline.screen_of`)."""
    out: dict[int, str | None] = {}
    for start in range(0, len(pks), _CHUNK):
        chunk = list(pks[start : start + _CHUNK])
        for pk, props in conn.execute(select(_E.id, _E.properties).where(_E.id.in_(chunk))):
            out[int(pk)] = screen_of(props)
    return out


def _key(value: Any) -> bytes:
    return value.bytes if isinstance(value, uuid.UUID) else bytes(value)


def timeline_events(conn: Connection, rows: Sequence[Any]) -> list[TimelineEvent]:
    """Rows with the columns of ``TimelineEvent`` (``id`` as ``pk``; ``event_id`` as a
    UUID or its 16 bytes) as events."""
    screens = read_screens(conn, [int(r.id) for r in rows if r.name == SCREEN])
    return [
        TimelineEvent(
            pk=int(r.id),
            event_key=_key(r.event_id),
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


EVENT_COLUMNS = (
    _E.id,
    _E.event_id,
    _E.ts,
    _E.name,
    _E.user_id,
    _E.anonymous_id,
    _E.platform,
    _E.app_version,
)


def _mapped_events(
    conn: Connection, extra: Sequence[TimelineEvent], *conds: Any
) -> tuple[list[TimelineEvent], dict[int, Any]]:
    """Events in ``event_sessions`` matching ``conds`` plus ``extra`` (this batch's, not
    mapped yet), and the stored events' current session ids."""
    stmt = (
        select(*EVENT_COLUMNS, _M.session_id.label("mapped"))
        .select_from(EVENT_SESSIONS.join(EVENTS, _E.id == _M.event_pk))
        .where(*conds)
    )
    rows = conn.execute(stmt).all()
    return [*timeline_events(conn, rows), *extra], {int(r.id): r.mapped for r in rows}


def stored_sessions(conn: Connection, app_id: int, dkeys: Sequence[str]) -> dict[str, list[Any]]:
    """The server sessions of these devices, oldest first, by device."""
    out: dict[str, list[Any]] = {}
    for start in range(0, len(dkeys), _CHUNK):
        stmt = (
            select(SESSIONS)
            .where(
                _S.app_id == app_id,
                _S.device_key.in_(list(dkeys[start : start + _CHUNK])),
                _S.client_session_id.is_(None),
            )
            .order_by(_S.started_at)
        )
        for row in conn.execute(stmt):
            out.setdefault(row.device_key, []).append(row)
    return out


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


def recompute_device(
    conn: Connection,
    app_id: int,
    dkey: str,
    new: Sequence[TimelineEvent],
    stored: Sequence[Any],
    rules: AppRules,
    changes: Changes,
) -> None:
    """Recompute a device's server sessions after ``new`` events (already mapped)."""
    lo, hi = min(e.ts for e in new), max(e.ts for e in new)
    seed = _draft(stored[-1]) if stored else None
    after: Sequence[TimelineEvent] = new
    if seed is not None and lo <= seed.last_event_at:
        # Late events inside the latest session (a phone flushing a batch that
        # overlaps the last one) need no reload when they cannot move anything.
        after = [e for e in new if e.ts > seed.last_event_at]
        seed = absorb(seed, [e for e in new if e.ts <= seed.last_event_at])
    if not stored or seed is not None:
        joining, groups = cut_after(seed, after, rules)
        drafts = (
            [fold(seed, joining, rules)] if seed is not None and (joining or seed.event_pks) else []
        )
        drafts += [
            summarize(server_session_uuid(app_id, dkey, g[0].event_id), g, rules) for g in groups
        ]
        changes.put(app_id, dkey, drafts, rules)
        return
    lo, hi, old_ids = _window(stored, lo, hi, rules.widest_gap)
    events, mapped = _mapped_events(
        conn,
        new,
        _M.app_id == app_id,
        _M.device_key == dkey,
        _M.client_session_id.is_(None),
        _M.ts >= lo,
        _M.ts <= hi,
    )
    drafts = [
        summarize(server_session_uuid(app_id, dkey, g[0].event_id), g, rules)
        for g in cut(events, rules)
    ]
    changes.delete_ids.update(old_ids)
    changes.put(app_id, dkey, drafts, rules, mapped)


def recompute_client(
    conn: Connection,
    app_id: int,
    dkey: str,
    csid: str,
    new: Sequence[TimelineEvent],
    stored: Any | None,
    rules: AppRules,
    changes: Changes,
) -> None:
    """Recompute the session a client named, after ``new`` events (already mapped)."""
    sid = client_session_uuid(app_id, dkey, csid)
    if stored is None:
        draft = summarize(sid, new, rules, client_session_id=csid)
        changes.put(app_id, dkey, [draft], rules)
        return
    seed: SessionDraft | None = _draft(stored)
    after = [e for e in new if e.ts > stored.last_event_at]
    if len(after) < len(new):
        seed = absorb(_draft(stored), [e for e in new if e.ts <= stored.last_event_at])
    if seed is not None:
        changes.put(app_id, dkey, [fold(seed, after, rules)], rules)
    else:
        events, mapped = _mapped_events(
            conn, new, _M.app_id == app_id, _M.device_key == dkey, _M.session_id == sid
        )
        draft = summarize(sid, events, rules, client_session_id=csid)
        changes.put(app_id, dkey, [draft], rules, mapped)
