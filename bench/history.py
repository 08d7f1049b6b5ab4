"""History databases for bench/ingest.py --history: a year of stored events, built once.

A history holds N events of a mobile app as a year of ingest leaves them: arrival ids
in arrival order over the 365 days before yesterday, client timestamps up to a minute
before arrival, each event's dedup key in ``event_keys`` (its minute bucket), and the
background jobs' watermarks at the newest event (they have processed the history, as
in a running installation). Rows are the same kind as the load's (~600 bytes: a
device's context, screen/tap/purchase properties); ``compact`` rows (~200 bytes) keep
the 100M-event file within a laptop's disk.

The rows are written with plain SQL (sqlite3 ``executemany``, PostgreSQL ``COPY``),
not through the capture API: building 10M events through HTTP would take an hour. The
layout is the one eventkit's writer produces; the keys are inserted in key order.

A built history is cached under ``bench/results/history/`` (git-ignored) with a JSON
file naming its write key and schema heads; a run copies it (SQLite) or clones it as a
template (PostgreSQL) and never writes to the original.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from loadgen import BodyFactory  # noqa: E402

__all__ = [
    "HISTORY_DIR",
    "clone_postgres",
    "copy_sqlite",
    "postgres_history",
    "spend_sqlite",
    "sqlite_history",
]

HISTORY_DIR = BENCH / "results" / "history"
_DAY_US = 86_400_000_000
_SPAN_US = 365 * _DAY_US


def _heads() -> list[str]:
    from alembic.script import ScriptDirectory

    from eventkit.storage.migrate import alembic_config

    return sorted(ScriptDirectory.from_config(alembic_config()).get_heads())


def _templates(compact: bool) -> list[tuple[Any, ...]]:
    """(name, anonymous_id, session_id, platform, app_version, properties, context)."""
    import msgspec

    factory = BodyFactory(seed=11, devices=5000)
    decode, encode = msgspec.json.Decoder().decode, msgspec.json.encode
    out: list[tuple[Any, ...]] = []
    while len(out) < 20_000:
        env = decode(factory.body(100))
        for ev in env["events"]:
            ctx = ev["context"]
            props = ev["properties"]
            if compact:
                ctx = {"os": {"name": ctx["os"]["name"]}, "app": ctx["app"]}
                props = {k: v for k, v in props.items() if k in ("screen", "button")}
            out.append(
                (
                    ev["name"],
                    ev["anonymous_id"],
                    ev["session_id"],
                    ctx["os"]["name"].lower(),
                    ctx["app"]["version"],
                    encode(props).decode(),
                    encode(ctx).decode(),
                )
            )
    return out


def history_rows(n: int, *, end_us: int, compact: bool, seed: int = 5) -> Iterator[list[Any]]:
    """Chunks of ``events`` rows (every column but ``id``), in arrival order."""
    rnd = random.Random(seed)
    templates = _templates(compact)
    start = end_us - _SPAN_US
    step = _SPAN_US / max(n, 1)
    chunk: list[Any] = []
    for i in range(n):
        name, anon, session, platform, version, props, ctx = templates[i % len(templates)]
        received = int(start + i * step)
        ts = received - rnd.randrange(60_000_000)
        chunk.append(
            (1, rnd.getrandbits(128).to_bytes(16, "big"), name, ts, received, received, ts,
             None, anon, session, platform, version, None, "127.0.0.0", "native", props, ctx)
        )  # fmt: skip
        if len(chunk) == 50_000:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _meta_path(db: Path) -> Path:
    return db.with_suffix(".json")


def _cached(meta: Path, events: int, compact: bool) -> dict[str, Any] | None:
    try:
        doc: dict[str, Any] = json.loads(meta.read_text())
    except (OSError, ValueError):
        return None
    wanted = {"events": events, "compact": compact, "heads": _heads()}
    return doc if all(doc.get(k) == v for k, v in wanted.items()) else None


def _prepare(url: str) -> str:
    """Migrate an empty database and create the default app; its write key."""
    from eventkit.bootstrap import ensure_default_app
    from eventkit.config import load_settings
    from eventkit.storage.engine import make_engine
    from eventkit.storage.migrate import upgrade

    settings = load_settings(path=None, environ={"EVENTKIT_DATABASE_URL": url})
    engine = make_engine(settings)
    try:
        upgrade(engine)
        keys = ensure_default_app(engine, settings.default_app)
        assert keys is not None
        return keys.write_key
    finally:
        engine.dispose()


def _finish_sql(newest: int) -> list[str]:
    """Keys in key order, and every watermark at the newest event."""
    from eventkit.aggregation.rollups import JOB
    from eventkit.sessions.job import WATERMARK
    from eventkit.storage.dedup import bucket_sql

    return [
        f"INSERT INTO event_keys (bucket, app_id, event_id) SELECT {bucket_sql()}, app_id, "
        "event_id FROM events ORDER BY 1, 2, 3",
        f"UPDATE dedup_state SET merged_id = {newest}",
        f"INSERT INTO session_state (name, value) VALUES ('{WATERMARK}', {newest})",
        "INSERT INTO aggregation_state (job, last_event_id, updated_at) "
        f"VALUES ('{JOB}', {newest}, {int(time.time() * 1e6)})",
    ]


def sqlite_history(events: int, *, compact: bool = False, log: Any = print) -> dict[str, Any]:
    """The SQLite history of ``events`` events, built if not cached: {path, key, ...}."""
    HISTORY_DIR.mkdir(parents=True, exist_ok=True)
    db = HISTORY_DIR / f"sqlite-{events}{'-compact' if compact else ''}.db"
    meta = _meta_path(db)
    doc = _cached(meta, events, compact)
    if doc is not None and db.exists():
        return doc
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    started = time.monotonic()
    log(f"  building a history of {events:,} events in {db} (once; cached afterwards)")
    key = _prepare(f"sqlite:///{db}")
    from eventkit.storage.events import EVENT_COLUMNS

    insert = f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) VALUES ({','.join('?' * 17)})"
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-262144")
        end = int(time.time() * 1e6) - _DAY_US
        for chunk in history_rows(events, end_us=end, compact=compact):
            conn.execute("BEGIN")
            conn.executemany(insert, chunk)
            conn.execute("COMMIT")
        newest = int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0])
        conn.execute("BEGIN")
        for sql in _finish_sql(newest):
            conn.execute(sql)
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    doc = {"path": str(db), "key": key, "events": events, "compact": compact, "heads": _heads()}
    doc["bytes"] = db.stat().st_size
    meta.write_text(json.dumps(doc, indent=2) + "\n")
    log(f"  built in {time.monotonic() - started:.0f} s ({doc['bytes'] / 1e9:.1f} GB)")
    return doc


def copy_sqlite(doc: dict[str, Any], directory: Path) -> Path:
    """A private copy of a history database, flushed to disk before the run."""
    dst = directory / "bench.db"
    shutil.copyfile(doc["path"], dst)
    fd = os.open(dst, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return dst


def spend_sqlite(doc: dict[str, Any]) -> None:
    """A run is about to write into the cached history itself: forget it (the next
    ``sqlite_history`` call rebuilds it), so that a changed database is never taken for
    the history."""
    _meta_path(Path(doc["path"])).unlink(missing_ok=True)


# ------------------------------------------------------------------ PostgreSQL


def postgres_history(admin_url: str, events: int, *, log: Any = print) -> dict[str, Any]:
    """A PostgreSQL template database holding the history, built if not cached."""
    import psycopg

    HISTORY_DIR.mkdir(parents=True, exist_ok=True)
    name = f"ek_bench_history_{events}"
    meta = HISTORY_DIR / f"postgres-{events}.json"
    doc = _cached(meta, events, False)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if doc is not None and exists:
            return doc
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    started = time.monotonic()
    log(f"  building a PostgreSQL history of {events:,} events in {name} (once)")
    key = _prepare(url)
    end = int(time.time() * 1e6) - _DAY_US
    _postgres_partitions(url, end - _SPAN_US)
    from eventkit.storage.events import EVENT_COLUMNS

    with psycopg.connect(url) as conn, conn.cursor() as cur:
        for chunk in history_rows(events, end_us=end, compact=False):
            with cur.copy(f"COPY events ({', '.join(EVENT_COLUMNS)}) FROM STDIN") as copy:
                for row in chunk:
                    copy.write_row((row[0], uuid.UUID(bytes=row[1]), *row[2:]))
        newest = int(cur.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0])
        for sql in _finish_sql(newest):
            cur.execute(sql)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    doc = {"database": name, "key": key, "events": events, "compact": False, "heads": _heads()}
    meta.write_text(json.dumps(doc, indent=2) + "\n")
    log(f"  built in {time.monotonic() - started:.0f} s")
    return doc


def _postgres_partitions(url: str, since_us: int) -> None:
    """Monthly partitions from ``since_us`` on, as the partitions job leaves them."""
    from eventkit.config import load_settings
    from eventkit.storage.engine import make_engine
    from eventkit.storage.partitions import add_months, create_partition, month_of

    engine = make_engine(load_settings(path=None, environ={"EVENTKIT_DATABASE_URL": url}))
    try:
        with engine.begin() as conn:
            year, month = month_of(since_us)
            for k in range(14):
                create_partition(conn, *add_months(year, month, k))
    finally:
        engine.dispose()


def clone_postgres(admin_url: str, template: str) -> str:
    """A fresh database copied from ``template``; its URL."""
    import psycopg

    name = f"ek_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')
    return admin_url.rsplit("/", 1)[0] + "/" + name
