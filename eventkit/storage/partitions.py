"""Time partitions of the ``events`` table on PostgreSQL.

``events`` is partitioned by range of ``ts`` (epoch microseconds) into one partition per
calendar month (UTC), ``events_pYYYYMM``, plus ``events_default`` for events outside
every monthly range (far-past client timestamps, or a month the partition job has not
created yet). A scheduled job keeps ``partitions.months_ahead`` months created ahead of
now; retention drops whole partitions, which costs no vacuum and no index churn.

Deduplication stays global: its keys live in the unpartitioned ``event_keys`` table
(a unique index on a partitioned table must include the partition key). Dropping a
partition keeps the keys of its events, so a client retrying an event older than the
retention cutoff is still answered "duplicate" rather than stored again.

SQLite stays unpartitioned: every function here is a no-op there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from eventkit.storage.dedup import bucket_sql
from eventkit.storage.errors import map_db_errors
from eventkit.timeutil import now_us

__all__ = [
    "DEFAULT_PARTITION",
    "Partition",
    "add_months",
    "create_partition",
    "drop_partition",
    "drop_partitions_before",
    "ensure_partitions",
    "is_partitioned",
    "list_partitions",
    "month_bounds",
    "month_of",
]

DEFAULT_PARTITION = "events_default"
_NAME = re.compile(r"^events_p(\d{4})(\d{2})$")


def _us(dt: datetime) -> int:
    return int(dt.timestamp()) * 1_000_000


def month_bounds(year: int, month: int) -> tuple[int, int]:
    """``[start, end)`` of a UTC calendar month in epoch microseconds."""
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    return _us(start), _us(end)


def month_of(us: int) -> tuple[int, int]:
    """``(year, month)`` of an epoch-microsecond instant, UTC."""
    dt = datetime.fromtimestamp(us / 1_000_000, tz=UTC)
    return dt.year, dt.month


def add_months(year: int, month: int, n: int) -> tuple[int, int]:
    """The month ``n`` months after ``(year, month)`` (``n`` may be negative)."""
    index = year * 12 + (month - 1) + n
    return index // 12, index % 12 + 1


@dataclass(frozen=True)
class Partition:
    """One monthly partition: its table name and ``[start, end)`` in epoch us."""

    name: str
    start: int
    end: int


def is_partitioned(conn: Connection) -> bool:
    """True when ``events`` is a partitioned table (PostgreSQL after 0005_partitions)."""
    if conn.dialect.name != "postgresql":
        return False
    kind = conn.execute(text("SELECT relkind FROM pg_class WHERE oid = 'events'::regclass"))
    return kind.scalar() == "p"


def list_partitions(engine: Engine) -> list[Partition]:
    """The monthly partitions of ``events``, oldest first (empty on SQLite)."""
    if engine.dialect.name != "postgresql":
        return []
    with map_db_errors(), engine.connect() as conn:
        if not is_partitioned(conn):
            return []
        names = conn.execute(
            text(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = 'events'::regclass"
            )
        ).scalars()
        out = []
        for name in names:
            m = _NAME.match(name)
            if m:
                start, end = month_bounds(int(m.group(1)), int(m.group(2)))
                out.append(Partition(name, start, end))
    return sorted(out, key=lambda p: p.start)


def create_partition(conn: Connection, year: int, month: int) -> str | None:
    """Create the partition of one month if missing; rows of that month already in the
    default partition move into it (in the caller's transaction). Returns its name if
    it was created."""
    name = f"events_p{year:04d}{month:02d}"
    exists = conn.execute(text("SELECT to_regclass(:n)"), {"n": name}).scalar()
    if exists is not None:
        return None
    start, end = month_bounds(year, month)
    has_default = conn.execute(text("SELECT to_regclass(:n)"), {"n": DEFAULT_PARTITION}).scalar()
    moved = False
    if has_default is not None:
        found = conn.execute(
            text(f"SELECT 1 FROM {DEFAULT_PARTITION} WHERE ts >= :s AND ts < :e LIMIT 1"),
            {"s": start, "e": end},
        ).first()
        if found is not None:
            conn.execute(
                text(
                    f"CREATE TEMP TABLE _ek_move ON COMMIT DROP AS SELECT * FROM "
                    f"{DEFAULT_PARTITION} WHERE ts >= :s AND ts < :e"
                ),
                {"s": start, "e": end},
            )
            conn.execute(
                text(f"DELETE FROM {DEFAULT_PARTITION} WHERE ts >= :s AND ts < :e"),
                {"s": start, "e": end},
            )
            moved = True
    # Bounds are integers computed here, never user input.
    conn.execute(
        text(f"CREATE TABLE {name} PARTITION OF events FOR VALUES FROM ({start}) TO ({end})")
    )
    if moved:
        conn.execute(text("INSERT INTO events SELECT * FROM _ek_move ORDER BY id"))
        conn.execute(text("DROP TABLE _ek_move"))
    return name


def ensure_partitions(engine: Engine, months_ahead: int, at_us: int | None = None) -> list[str]:
    """Create the partitions of the current month and ``months_ahead`` months after it
    (the scheduled ``partitions`` job). Returns the names created."""
    if engine.dialect.name != "postgresql":
        return []
    year, month = month_of(now_us() if at_us is None else at_us)
    created = []
    with map_db_errors(), engine.begin() as conn:
        if not is_partitioned(conn):
            return []
        for k in range(months_ahead + 1):
            name = create_partition(conn, *add_months(year, month, k))
            if name is not None:
                created.append(name)
    return created


#: The dedup bucket of a partition row ``p`` (event_keys' leading key column).
_P_BUCKET = bucket_sql('p."timestamp"', "p.received_at")


def drop_partition(conn: Connection, name: str, *, keep_keys: bool) -> None:
    """Drop the partition ``name`` with its events' rows in the side tables
    (``event_sessions``, ``rollup_events_by_name``; ``event_keys`` unless
    ``keep_keys``, which keeps a retry of a dropped event a duplicate)."""
    table = conn.dialect.identifier_preparer.quote(name)
    conn.execute(text(f"DELETE FROM event_sessions WHERE event_pk IN (SELECT id FROM {table})"))
    conn.execute(
        text(
            f"DELETE FROM rollup_events_by_name r USING {table} p "
            "WHERE r.app_id = p.app_id AND r.id = p.id"
        )
    )
    if not keep_keys:
        conn.execute(
            text(
                f"DELETE FROM event_keys k USING {table} p WHERE k.bucket = {_P_BUCKET} "
                "AND k.app_id = p.app_id AND k.event_id = p.event_id"
            )
        )
    conn.execute(text(f"DROP TABLE {table}"))


def drop_partitions_before(engine: Engine, cutoff_us: int) -> int:
    """Retention: drop every monthly partition that ends at or before ``cutoff_us`` and
    delete the default partition's events older than it. Returns the partitions dropped.

    Whole partitions only: events of the month that contains the cutoff stay until the
    next month's run drops them (per-app or finer retention deletes rows itself). On
    SQLite this does nothing and returns 0.
    """
    if engine.dialect.name != "postgresql":
        return 0
    dropped = 0
    with map_db_errors(), engine.begin() as conn:
        if not is_partitioned(conn):
            return 0
        for p in list_partitions(engine):
            if p.end <= cutoff_us:
                drop_partition(conn, p.name, keep_keys=True)
                dropped += 1
        conn.execute(text(f"DELETE FROM {DEFAULT_PARTITION} WHERE ts < :c"), {"c": cutoff_us})
    return dropped
