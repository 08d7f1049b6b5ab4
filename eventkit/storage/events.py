"""The event store: the group-commit write path, and event queries.

The write path is the hot path. It uses the DBAPI connection under SQLAlchemy for
``executemany`` (SQLite) and ``COPY`` (PostgreSQL) on the SQLModel tables' columns:
building ORM objects one by one is ~15x slower (docs/performance.md).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

import msgspec
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.engine import Connection, Engine

from eventkit.capture.schema import CanonicalEvent
from eventkit.storage.engine import writer
from eventkit.storage.errors import map_db_errors
from eventkit.storage.models import EVENTS, Event
from eventkit.storage.types import json_dumps
from eventkit.storage.users import ProfileOp, apply_profile_ops

__all__ = [
    "EVENT_COLUMNS",
    "EventFilter",
    "EventStore",
    "count_events",
    "last_event_id",
    "query_events",
]

#: Insert column order (every column of ``events`` but the arrival id).
EVENT_COLUMNS: tuple[str, ...] = tuple(c.name for c in EVENTS.columns if c.name != "id")
_SQLITE_INSERT = f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) VALUES "
_SQLITE_KEYS_INSERT = "INSERT INTO event_keys (app_id, event_id) VALUES "
#: Rows per multi-row INSERT statement, largest first (each size's SQL is prepared once).
_ROW_CHUNKS = (256, 64, 16, 4, 1)
_PG_COPY = f"COPY events ({', '.join(EVENT_COLUMNS)}) FROM STDIN"
_CHUNK = 500
K = TypeVar("K")


def _json(value: dict[str, Any] | msgspec.Raw) -> str:
    if isinstance(value, msgspec.Raw):
        return bytes(value).decode()
    return json_dumps(value)


def _row(e: CanonicalEvent, event_id: Any) -> tuple[Any, ...]:
    return (
        e.app_id,
        event_id,
        e.name,
        e.timestamp,
        e.sent_at,
        e.received_at,
        e.ts,
        e.user_id,
        e.anonymous_id,
        e.session_id,
        e.platform,
        e.app_version,
        e.country,
        e.ip,
        e.source,
        _json(e.properties),
        _json(e.context),
    )


@lru_cache(maxsize=32)
def _values_sql(prefix: str, columns: int, rows: int) -> str:
    one = "(" + ",".join("?" * columns) + ")"
    return prefix + ",".join([one] * rows)


def _insert_many(raw: Any, prefix: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """INSERT rows with multi-row VALUES statements of a few fixed sizes.

    ``executemany`` steps SQLite once per row, releasing and re-taking the GIL each
    time; under load the event loop thread holds the GIL and every row waits for it.
    A 256-row statement is one step.
    """
    if not rows:
        return
    width = len(rows[0])
    start = 0
    for size in _ROW_CHUNKS:
        while len(rows) - start >= size:
            chunk = rows[start : start + size]
            raw.execute(_values_sql(prefix, width, size), [v for row in chunk for v in row])
            start += size


def _first_seen(
    events: Sequence[CanonicalEvent], key: Callable[[uuid.UUID], K]
) -> dict[tuple[int, K], int]:
    """``{(app_id, key(event_id)): index}`` of the first occurrence of each event in a
    batch, in batch order (later copies are duplicates within the batch)."""
    first: dict[tuple[int, K], int] = {}
    for i, e in enumerate(events):
        first.setdefault((e.app_id, key(e.event_id)), i)
    return first


class EventStore:
    """Writes batches of canonical events in one transaction, exactly once each."""

    def __init__(self, engine: Engine) -> None:
        self.engine = writer(engine)
        self.dialect = engine.dialect.name
        if self.dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported database {self.dialect}")

    def write(
        self, events: Sequence[CanonicalEvent], profile_ops: Sequence[ProfileOp] = ()
    ) -> list[bool]:
        """Store the events that are new and apply the profile operations, in one
        transaction. Returns, per event, True if stored and False if it was a
        duplicate (already stored, or earlier in this batch).

        Raises:
            StorageError: nothing was stored.
        """
        with map_db_errors(), self.engine.connect() as conn, conn.begin():
            if self.dialect == "sqlite":
                new = self._write_sqlite(conn, events)
            else:
                new = self._write_postgres(conn, events)
            if profile_ops:
                apply_profile_ops(
                    conn,
                    profile_ops,
                    new_event_ids={
                        (e.app_id, e.event_id) for e, n in zip(events, new, strict=True) if n
                    },
                )
        return new

    def _write_sqlite(self, conn: Connection, events: Sequence[CanonicalEvent]) -> list[bool]:
        raw = conn.connection.driver_connection
        assert raw is not None
        first = _first_seen(events, lambda u: u.bytes)  # keyed as stored: 16 bytes
        by_app: dict[int, list[bytes]] = {}
        for app_id, b in first:
            by_app.setdefault(app_id, []).append(b)
        for app_id, ids in by_app.items():
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                cur = raw.execute(
                    f"SELECT event_id FROM event_keys WHERE app_id = ? AND event_id IN ({marks})",
                    (app_id, *chunk),
                )
                for (found,) in cur.fetchall():
                    del first[(app_id, found)]
        new = [False] * len(events)
        if first:
            # Sorted keys touch each B-tree page of the dedup index once per commit.
            _insert_many(raw, _SQLITE_KEYS_INSERT, sorted(first))
            rows = []
            for (_, b), i in first.items():  # insertion order is batch order
                new[i] = True
                rows.append(_row(events[i], b))
            _insert_many(raw, _SQLITE_INSERT, rows)
        return new

    def _write_postgres(self, conn: Connection, events: Sequence[CanonicalEvent]) -> list[bool]:
        raw = conn.connection.driver_connection
        assert raw is not None
        candidates = _first_seen(events, lambda u: u)
        inserted: set[tuple[int, uuid.UUID]] = set()
        pairs = sorted(candidates)
        with raw.cursor() as cur:
            for start in range(0, len(pairs), 10_000):
                chunk = pairs[start : start + 10_000]
                cur.execute(
                    "INSERT INTO event_keys (app_id, event_id) "
                    "SELECT * FROM unnest(%s::int[], %s::uuid[]) "
                    "ON CONFLICT DO NOTHING RETURNING app_id, event_id",
                    ([p[0] for p in chunk], [p[1] for p in chunk]),
                )
                inserted.update((a, u) for a, u in cur.fetchall())
            new = [False] * len(events)
            with cur.copy(_PG_COPY) as copy:
                for pair, i in candidates.items():
                    e = events[i]
                    if pair in inserted:
                        new[i] = True
                        copy.write_row(_row(e, e.event_id))
        return new


@dataclass(frozen=True)
class EventFilter:
    """Which events to read. Times are epoch microseconds of the corrected timestamp."""

    app_id: int | None = None
    name: str | None = None
    user_id: str | None = None
    anonymous_id: str | None = None
    since: int | None = None
    until: int | None = None
    after_id: int | None = None


def query_events(
    engine: Engine, flt: EventFilter, *, limit: int = 100, newest_first: bool = True
) -> list[Event]:
    """Events matching ``flt``, newest first (or in arrival order, for tailing)."""
    c = EVENTS.c
    conds: list[ColumnElement[bool]] = []
    if flt.app_id is not None:
        conds.append(c.app_id == flt.app_id)
    if flt.name:
        conds.append(c.name == flt.name)
    if flt.user_id:
        conds.append(c.user_id == flt.user_id)
    if flt.anonymous_id:
        conds.append(c.anonymous_id == flt.anonymous_id)
    if flt.since is not None:
        conds.append(c.ts >= flt.since)
    if flt.until is not None:
        conds.append(c.ts < flt.until)
    if flt.after_id is not None:
        conds.append(c.id > flt.after_id)
    stmt = select(EVENTS).where(*conds)
    stmt = stmt.order_by(c.ts.desc(), c.id.desc()) if newest_first else stmt.order_by(c.id)
    with map_db_errors(), engine.connect() as conn:
        rows = conn.execute(stmt.limit(limit)).mappings().all()
    return [Event(**row) for row in rows]


def last_event_id(engine: Engine, app_id: int | None = None) -> int:
    """The newest arrival id (0 when empty), for tailing."""
    stmt = select(func.max(EVENTS.c.id))
    if app_id is not None:
        stmt = stmt.where(EVENTS.c.app_id == app_id)
    with map_db_errors(), engine.connect() as conn:
        return int(conn.execute(stmt).scalar() or 0)


def count_events(engine: Engine, app_ids: Iterable[int] | None = None) -> int:
    """How many events are stored (for some apps, or all)."""
    stmt = select(func.count()).select_from(EVENTS)
    if app_ids is not None:
        stmt = stmt.where(EVENTS.c.app_id.in_(list(app_ids)))
    with map_db_errors(), engine.connect() as conn:
        return int(conn.execute(stmt).scalar_one())
