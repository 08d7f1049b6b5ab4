"""Storage baselines of bench/ingest.py, measured in the same run as eventkit:

(b) sqlite  raw ``sqlite3`` executemany of the same rows into an index-free copy of the
            ``events`` table, one transaction per ``--txn-rows`` rows, eventkit's pragmas;
    COPY    raw ``COPY`` of the same rows into an index-free copy of ``events``
            (``CREATE TABLE … (LIKE events)``: no index, no key table) on the same
            PostgreSQL server, one transaction per ``--txn-rows`` rows.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from harness import BenchError
from loadgen import BodyFactory

__all__ = ["copy_baseline", "sqlite_baseline"]


_RAW_COLUMNS = (
    "app_id", "event_id", "name", "timestamp", "sent_at", "received_at", "ts", "user_id",
    "anonymous_id", "session_id", "platform", "app_version", "country", "ip", "source",
    "properties", "context",
)  # fmt: skip


def _raw_rows(n: int) -> list[tuple[Any, ...]]:
    """``n`` rows of the ``events`` table as eventkit stores SDK-like events: 16-byte
    UUID blob, epoch-microsecond integers, JSON text for properties and context."""
    import msgspec

    factory = BodyFactory(seed=7)
    decode_any = msgspec.json.Decoder().decode
    encode = msgspec.json.encode

    def us(text: str) -> int:
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1_000_000)

    rows: list[tuple[Any, ...]] = []
    while len(rows) < n:
        env = decode_any(factory.body(100))
        received = time.time_ns() // 1000
        sent = us(env["sent_at"])
        for ev in env["events"]:
            ts = us(ev["timestamp"])
            ctx = ev.get("context", {})
            rows.append(
                (
                    1,
                    uuid.UUID(ev["event_id"]).bytes,
                    ev["name"],
                    ts,
                    sent,
                    received,
                    received + (ts - sent),
                    ev.get("user_id"),
                    ev.get("anonymous_id"),
                    ev.get("session_id"),
                    str(ctx.get("os", {}).get("name", "")).lower() or None,
                    ctx.get("app", {}).get("version"),
                    None,
                    "127.0.0.0",
                    "native",
                    encode(ev.get("properties", {})).decode(),
                    encode(ctx).decode(),
                )
            )
    return rows


def sqlite_baseline(duration: float, txn_rows: int, tmp: Path) -> dict[str, Any]:
    """Rows/s of plain executemany into an index-free ``events`` table, same rows,
    same pragmas as eventkit's engine, one ``BEGIN IMMEDIATE ... COMMIT`` per txn."""
    from sqlalchemy.dialects import sqlite as sqlite_dialect
    from sqlalchemy.schema import CreateTable

    from eventkit.config import Settings
    from eventkit.storage.models import Event

    # Built here from the public table model rather than eventkit's private row code, so
    # the baseline does not move when eventkit's write path changes.
    pool = _raw_rows(max(20_000, txn_rows))
    columns = [c.name for c in Event.__table__.columns if c.name != "id"]  # type: ignore[attr-defined]
    if columns != list(_RAW_COLUMNS):
        raise BenchError(f"events columns changed: {columns}; update _RAW_COLUMNS in {__file__}")
    insert = f"INSERT INTO events ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
    try:
        from eventkit.storage.engine import _sqlite_pragmas

        pragmas = _sqlite_pragmas(Settings())
    except ImportError:
        pragmas = [
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=FULL",
            "PRAGMA cache_size=-262144",
            "PRAGMA mmap_size=268435456",
            "PRAGMA temp_store=MEMORY",
            "PRAGMA wal_autocheckpoint=10000",
        ]
    db = tmp / "raw-sqlite.db"
    conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    try:
        for pragma in pragmas:
            conn.execute(pragma)
        # CREATE TABLE only: no CREATE INDEX (ix_events_app_ts) and no event_keys.
        conn.execute(str(CreateTable(Event.__table__).compile(dialect=sqlite_dialect.dialect())))  # type: ignore[attr-defined]
        rows = commits = 0
        pos = 0
        started = time.perf_counter()
        end = started + duration
        while time.perf_counter() < end:
            chunk = pool[pos : pos + txn_rows]
            pos = (pos + txn_rows) % (len(pool) - txn_rows + 1)
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(insert, chunk)
            conn.execute("COMMIT")
            rows += len(chunk)
            commits += 1
        elapsed = time.perf_counter() - started
        stored = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    finally:
        conn.close()
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(OSError):
                Path(f"{db}{suffix}").unlink()
    if stored != rows:
        raise BenchError(f"raw sqlite: {stored} rows stored, {rows} inserted")
    return {
        "rows_per_s": rows / elapsed,
        "txn_rows": txn_rows,
        "commits": commits,
        "ms_per_commit": 1000 * elapsed / commits,
        "synchronous": next(
            (p.split("=")[1].lower() for p in pragmas if "synchronous" in p), "default"
        ),
    }


def copy_baseline(admin_url: str, duration: float, txn_rows: int) -> dict[str, Any]:
    """Rows/s of plain COPY into an index-free copy of ``events`` in a fresh, migrated
    database on the server of ``admin_url``; one transaction per ``txn_rows`` rows."""
    import psycopg

    from eventkit.config import load_settings
    from eventkit.storage.engine import make_engine
    from eventkit.storage.migrate import upgrade

    pool = [(r[0], uuid.UUID(bytes=r[1]), *r[2:]) for r in _raw_rows(max(20_000, txn_rows))]
    name = f"ek_bench_copy_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    try:
        engine = make_engine(load_settings(path=None, environ={"EVENTKIT_DATABASE_URL": url}))
        upgrade(engine)
        engine.dispose()
        with psycopg.connect(url) as conn:
            conn.execute("CREATE TABLE raw_events (LIKE events INCLUDING DEFAULTS)")
            conn.commit()
            copy_sql = f"COPY raw_events ({', '.join(_RAW_COLUMNS)}) FROM STDIN"
            rows = commits = pos = 0
            started = time.perf_counter()
            end = started + duration
            with conn.cursor() as cur:
                while time.perf_counter() < end:
                    chunk = pool[pos : pos + txn_rows]
                    pos = (pos + txn_rows) % (len(pool) - txn_rows + 1)
                    with cur.copy(copy_sql) as copy:
                        for row in chunk:
                            copy.write_row(row)
                    conn.commit()
                    rows += len(chunk)
                    commits += 1
                elapsed = time.perf_counter() - started
                stored = int(cur.execute("SELECT count(*) FROM raw_events").fetchone()[0])
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    if stored != rows:
        raise BenchError(f"raw COPY: {stored} rows stored, {rows} copied")
    return {
        "rows_per_s": rows / elapsed,
        "txn_rows": txn_rows,
        "commits": commits,
        "ms_per_commit": 1000 * elapsed / commits,
    }
