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
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.engine import Connection, Engine

from eventkit.capture.schema import CanonicalEvent
from eventkit.storage.dedup import (
    KEY_SIZE,
    LEGACY_BUCKET,
    KeyTail,
    bucket_of,
    pack,
    probe_buckets,
    unpack,
)
from eventkit.storage.engine import writer
from eventkit.storage.errors import map_db_errors
from eventkit.storage.models import EVENTS, Event
from eventkit.storage.types import json_dumps
from eventkit.storage.users import ProfileOp, apply_profile_ops

__all__ = [
    "EVENT_COLUMNS",
    "EventFilter",
    "EventStore",
    "Row",
    "count_events",
    "last_event_id",
    "query_events",
    "row_of",
    "rows_and_keys",
]

#: Insert column order (every column of ``events`` but the arrival id).
EVENT_COLUMNS: tuple[str, ...] = tuple(c.name for c in EVENTS.columns if c.name != "id")
_SQLITE_INSERT = f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) VALUES "
#: Rows per multi-row INSERT statement, largest first (each size's SQL is prepared once).
_ROW_CHUNKS = (256, 64, 16, 4, 1)
_PG_COPY = f"COPY events ({', '.join(EVENT_COLUMNS)}) FROM STDIN"
#: Keys the SQLite store holds in memory before merging them into ``event_keys``.
MEMORY_KEYS = 100_000
#: One ``events`` row's values in ``EVENT_COLUMNS`` order.
Row = tuple[Any, ...]


def _json(value: dict[str, Any] | msgspec.Raw) -> str:
    if isinstance(value, msgspec.Raw):
        return bytes(value).decode()
    return json_dumps(value)


def row_of(e: CanonicalEvent) -> Row:
    """An event as the values of one ``events`` row in ``EVENT_COLUMNS`` order, as
    SQLite stores them (16-byte id, JSON text)."""
    return (
        e.app_id,
        e.event_id.bytes,
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


def rows_and_keys(events: Sequence[CanonicalEvent]) -> tuple[list[Row], bytes]:
    """The rows of ``events`` and their packed dedup keys, concatenated
    (``KEY_SIZE`` bytes each): what ``EventStore.write_rows`` takes."""
    rows = [row_of(e) for e in events]
    keys = b"".join(pack(bucket_of(r[3], r[5]), r[0], r[1]) for r in rows)
    return rows, keys


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


class EventStore:
    """Writes batches of canonical events in one transaction, exactly once each.

    Deduplication is exact: see ``eventkit.storage.dedup`` for how keys are laid out.
    On SQLite the store keeps the keys of the newest events in memory (``KeyTail``);
    ``memory_keys`` is how many it holds before merging them into ``event_keys``.
    """

    def __init__(self, engine: Engine, *, memory_keys: int = MEMORY_KEYS) -> None:
        self.engine = writer(engine)
        self.dialect = engine.dialect.name
        if self.dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported database {self.dialect}")
        self.tail = KeyTail(memory_keys)
        #: PostgreSQL: whether legacy keys exist (None: not checked yet).
        self._pg_legacy: bool | None = None

    def write(
        self, events: Sequence[CanonicalEvent], profile_ops: Sequence[ProfileOp] = ()
    ) -> list[bool]:
        """Store the events that are new and apply the profile operations, in one
        transaction. Returns, per event, True if stored and False if it was a
        duplicate (already stored, or earlier in this batch).

        Raises:
            StorageError: nothing was stored.
        """
        rows, keys = rows_and_keys(events)
        return self.write_rows(rows, keys, profile_ops)

    def write_rows(
        self, rows: Sequence[Row], keys: bytes, profile_ops: Sequence[ProfileOp] = ()
    ) -> list[bool]:
        """``write`` for events already turned into rows and keys (``rows_and_keys``;
        the writer process receives them so from the server workers)."""
        done: Callable[[], None] | None = None
        try:
            with map_db_errors(), self.engine.connect() as conn, conn.begin():
                if self.dialect == "sqlite":
                    new, done = self._write_sqlite(conn, rows, keys)
                else:
                    new = self._write_postgres(conn, rows, keys)
                if profile_ops:
                    apply_profile_ops(
                        conn,
                        profile_ops,
                        new_event_ids={
                            (r[0], uuid.UUID(bytes=r[1]))
                            for r, n in zip(rows, new, strict=True)
                            if n
                        },
                    )
        except BaseException:
            self.tail.invalidate()  # rebuilt from the database at the next write
            raise
        if done is not None:
            done()
        return new

    def merge_keys(self) -> None:
        """Merge the in-memory keys into ``event_keys`` now (SQLite; for tests and
        maintenance: writes merge on their own when the tail is full)."""
        if self.dialect != "sqlite":
            return
        merge_at = self.tail.merge_at
        self.tail.merge_at = 0
        try:
            self.write([])
        finally:
            self.tail.merge_at = merge_at

    def _write_sqlite(
        self, conn: Connection, rows: Sequence[Row], keys: bytes
    ) -> tuple[list[bool], Callable[[], None]]:
        raw = conn.connection.driver_connection
        assert raw is not None
        tail = self.tail
        tail.sync(raw)
        todo, todo_keys = tail.classify(raw, rows, keys)
        new = [False] * len(rows)
        for i in todo:
            new[i] = True
        newest = tail.seen_id or 0
        if todo:
            _insert_many(raw, _SQLITE_INSERT, [rows[i] for i in todo])
            newest = int(raw.execute("SELECT last_insert_rowid()").fetchone()[0])
        merged = tail.merge(raw, todo_keys, newest)
        return new, lambda: tail.added(todo_keys, newest, merged=merged)

    def _write_postgres(self, conn: Connection, rows: Sequence[Row], keys: bytes) -> list[bool]:
        raw = conn.connection.driver_connection
        assert raw is not None
        if self._pg_legacy is None:
            self._pg_legacy = (
                raw.execute(
                    "SELECT 1 FROM event_keys WHERE bucket = %s LIMIT 1", (LEGACY_BUCKET,)
                ).fetchone()
                is not None
            )
        first: dict[bytes, int] = {}
        for i in range(len(rows)):
            first.setdefault(keys[i * KEY_SIZE : (i + 1) * KEY_SIZE], i)
        with raw.cursor() as cur:
            known = self._pg_elsewhere(cur, rows, first)
            todo = sorted(unpack(k) for k in first if k not in known)
            inserted: set[bytes] = set()
            for start in range(0, len(todo), 10_000):
                chunk = todo[start : start + 10_000]
                cur.execute(
                    "INSERT INTO event_keys (bucket, app_id, event_id) "
                    "SELECT * FROM unnest(%s::bigint[], %s::int[], %s::uuid[]) "
                    "ON CONFLICT DO NOTHING RETURNING bucket, app_id, event_id",
                    (
                        [k[0] for k in chunk],
                        [k[1] for k in chunk],
                        [uuid.UUID(bytes=k[2]) for k in chunk],
                    ),
                )
                inserted.update(pack(b, a, u.bytes) for b, a, u in cur.fetchall())
            new = [False] * len(rows)
            with cur.copy(_PG_COPY) as copy:
                for key, i in first.items():
                    if key in inserted:
                        new[i] = True
                        r = rows[i]
                        copy.write_row((r[0], uuid.UUID(bytes=r[1]), *r[2:]))
        return new

    def _pg_elsewhere(self, cur: Any, rows: Sequence[Row], first: dict[bytes, int]) -> set[bytes]:
        """The keys of ``first`` stored in another bucket than their own: an event
        without a client time stored on an earlier day, or a legacy key."""
        probes: list[tuple[int, int, bytes, bytes]] = []
        for key, i in first.items():
            r = rows[i]
            bucket, app_id, event_id = unpack(key)
            others = [b for b in probe_buckets(r[3], r[5]) if b != bucket]
            if self._pg_legacy:
                others.append(LEGACY_BUCKET)
            probes.extend((b, app_id, event_id, key) for b in others)
        if not probes:
            return set()
        cur.execute(
            "SELECT k.bucket, k.app_id, k.event_id FROM event_keys k JOIN "
            "unnest(%s::bigint[], %s::int[], %s::uuid[]) AS p(bucket, app_id, event_id) "
            "USING (bucket, app_id, event_id)",
            (
                [p[0] for p in probes],
                [p[1] for p in probes],
                [uuid.UUID(bytes=p[2]) for p in probes],
            ),
        )
        hits = {(b, a, u.bytes) for b, a, u in cur.fetchall()}
        return {p[3] for p in probes if (p[0], p[1], p[2]) in hits}


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
