"""Incremental rollups of ``events`` into ``rollup_counts`` and ``rollup_user_days``.

A run folds the events that arrived since the watermark (``events.id``, the arrival
sequence) into the rollups with additive upserts, and advances the watermark in the
same transaction: a crash leaves both untouched, a re-run does the same work once.
Late events (an old ``ts`` arriving now) have a new ``id``, so they are folded into the
old buckets they belong to. ``rebuild`` recomputes whole days from the raw events.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from eventkit.aggregation.distinct import (
    apps_without_today,
    refresh_days,
    refresh_windows,
    roll_windows_forward,
    touched,
)
from eventkit.aggregation.measures import delete_measure_days, measure_statements
from eventkit.aggregation.sql import ACTOR, BUILTIN_DIMS, bucket, dim_expr
from eventkit.config import AggregationSettings
from eventkit.storage.engine import writer
from eventkit.storage.errors import map_db_errors
from eventkit.timeutil import US_PER_DAY, US_PER_SECOND, now_us

__all__ = ["JOB", "RunResult", "aggregate", "dims_for", "lock_state", "rebuild", "watermark"]

#: The aggregation_state row of the rollup job.
JOB = "rollups"

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class RunResult:
    """What a run did: events folded in, transactions, and the watermark after it."""

    events: int
    batches: int
    watermark: int


def dims_for(settings: AggregationSettings) -> list[str]:
    """The breakdowns rolled up: the built-in columns and the configured properties."""
    return [*BUILTIN_DIMS, *(f"prop:{p}" for p in settings.breakdown_properties)]


def _statements(dialect: str, dims: Sequence[str], where: str) -> list[str]:
    """INSERT … SELECT … ON CONFLICT statements adding the events matching ``where``."""
    out = []
    for period in ("h", "d"):
        b = bucket("ts", period)
        parts = [
            f"SELECT app_id, '{period}', {b}, name, '', '', COUNT(*) FROM events "
            f"WHERE {where} GROUP BY app_id, {b}, name"
        ]
        for dim in dims:
            v = dim_expr(dialect, dim)
            parts.append(
                f"SELECT app_id, '{period}', {b}, name, '{dim}', {v}, COUNT(*) FROM events "
                f"WHERE {where} GROUP BY app_id, {b}, name, {v}"
            )
        for part in parts:
            out.append(
                "INSERT INTO rollup_counts (app_id, period, bucket, name, dim, value, count) "
                f"{part} ON CONFLICT (app_id, period, bucket, name, dim, value) "
                "DO UPDATE SET count = rollup_counts.count + excluded.count"
            )
    out.append(
        "INSERT INTO rollup_events_by_name (app_id, name, ts, id, actor) "
        f"SELECT app_id, name, ts, id, {ACTOR} FROM events WHERE {where} "
        f"AND {ACTOR} IS NOT NULL ON CONFLICT DO NOTHING"
    )
    day = bucket("ts", "d")
    least = "LEAST" if dialect == "postgresql" else "MIN"
    for name in ("name", "''"):
        group = f"app_id, {ACTOR}" + (", name" if name == "name" else "")
        out.append(
            "INSERT INTO rollup_first_days (app_id, name, actor, first_day) "
            f"SELECT app_id, {name}, {ACTOR}, MIN({day}) FROM events "
            f"WHERE {where} AND {ACTOR} IS NOT NULL GROUP BY {group} "
            "ON CONFLICT (app_id, name, actor) DO UPDATE SET "
            f"first_day = {least}(rollup_first_days.first_day, excluded.first_day)"
        )
    for name in ("name", "''"):
        group = f"app_id, {day}, {ACTOR}" + (", name" if name == "name" else "")
        out.append(
            "INSERT INTO rollup_user_days (app_id, name, day, actor, count) "
            f"SELECT app_id, {name}, {day}, {ACTOR}, COUNT(*) FROM events "
            f"WHERE {where} AND {ACTOR} IS NOT NULL GROUP BY {group} "
            "ON CONFLICT (app_id, name, day, actor) "
            "DO UPDATE SET count = rollup_user_days.count + excluded.count"
        )
    return out


def lock_state(conn: Connection) -> int:
    """The watermark, row-locked on PostgreSQL so runs on several nodes (and erasures,
    eventkit.privacy) serialize with this transaction; SQLite write transactions already
    exclude each other."""
    conn.execute(
        text(
            "INSERT INTO aggregation_state (job, last_event_id, updated_at) "
            "VALUES (:job, 0, :now) ON CONFLICT (job) DO NOTHING"
        ),
        {"job": JOB, "now": now_us()},
    )
    lock = " FOR UPDATE" if conn.dialect.name == "postgresql" else ""
    row = conn.execute(
        text(f"SELECT last_event_id FROM aggregation_state WHERE job = :job{lock}"), {"job": JOB}
    ).scalar_one()
    return int(row)


def watermark(engine: Engine) -> int:
    """The id of the newest event already in the rollups (0 before the first run)."""
    with map_db_errors(), engine.connect() as conn:
        value = conn.execute(
            text("SELECT last_event_id FROM aggregation_state WHERE job = :job"), {"job": JOB}
        ).scalar()
    return int(value or 0)


def _step(conn: Connection, settings: AggregationSettings, dims: Sequence[str]) -> tuple[int, int]:
    """Fold one batch in; returns (events folded, new watermark)."""
    lo = lock_state(conn)
    params: dict[str, int] = {"lo": lo, "cap": lo + settings.batch_events}
    cond = "id > :lo AND id <= :cap"
    if conn.dialect.name == "postgresql":
        # Ids are taken before commit: a transaction holding a lower id may commit
        # after a higher one. Leave recent arrivals for the next run.
        params["cutoff"] = now_us() - int(settings.settle_seconds * US_PER_SECOND)
        cond += " AND received_at <= :cutoff"
    hi = conn.execute(text(f"SELECT MAX(id) FROM events WHERE {cond}"), params).scalar()
    if hi is None:
        return 0, lo
    rng = {"lo": lo, "hi": int(hi)}
    n = int(
        conn.execute(
            text("SELECT COUNT(*) FROM events WHERE id > :lo AND id <= :hi"), rng
        ).scalar_one()
    )
    where = "id > :lo AND id <= :hi"
    measures = measure_statements(conn.dialect.name, dims, settings.measure_properties, where)
    for stmt in [*_statements(conn.dialect.name, dims, where), *measures]:
        conn.execute(text(stmt), rng)
    keys = touched(conn, "id > :lo AND id <= :hi", rng)
    refresh_days(conn, keys)
    refresh_windows(conn, keys)
    conn.execute(
        text(
            "UPDATE aggregation_state SET last_event_id = :hi, updated_at = :now WHERE job = :job"
        ),
        {"hi": int(hi), "now": now_us(), "job": JOB},
    )
    return n, int(hi)


def aggregate(
    engine: Engine,
    settings: AggregationSettings,
    *,
    max_batches: int | None = None,
    progress: Progress | None = None,
) -> RunResult:
    """Fold every event that arrived since the last run into the rollups.

    Each batch (``settings.batch_events`` arrival ids) is one transaction that also
    advances the watermark. ``progress(done, total)`` is called after each batch.
    """
    dims = dims_for(settings)
    eng = writer(engine)
    total_events = batches = 0
    start = watermark(engine)
    with map_db_errors(), engine.connect() as conn:
        top = int(conn.execute(text("SELECT COALESCE(MAX(id), 0) FROM events")).scalar_one())
    mark = start
    while max_batches is None or batches < max_batches:
        with map_db_errors(), eng.connect() as conn, conn.begin():
            n, new = _step(conn, settings, dims)
        if new == mark:
            break
        total_events += n
        batches += 1
        mark = new
        if progress is not None:
            progress(max(0, min(mark, top) - start), max(0, top - start))
    with map_db_errors(), engine.connect() as conn:
        quiet = apps_without_today(conn)
    if quiet:
        with map_db_errors(), eng.connect() as conn, conn.begin():
            roll_windows_forward(conn, quiet)
    return RunResult(events=total_events, batches=batches, watermark=mark)


def _delete_by_name(conn: Connection, rng: dict[str, int]) -> None:
    """Delete one app-day from ``rollup_events_by_name``, name by name (its key starts
    with the name), using the day's names in the rollups before they are deleted."""
    names = conn.execute(
        text(
            "SELECT DISTINCT name FROM rollup_counts WHERE app_id = :app AND period = 'd' "
            "AND bucket = :d0 AND dim = ''"
        ),
        rng,
    ).scalars()
    for name in list(names):
        conn.execute(
            text(
                "DELETE FROM rollup_events_by_name WHERE app_id = :app AND name = :name "
                "AND ts >= :d0 AND ts < :d1"
            ),
            {**rng, "name": name},
        )


def rebuild(
    engine: Engine,
    settings: AggregationSettings,
    *,
    since: int | None = None,
    progress: Progress | None = None,
) -> int:
    """Recompute the rollups of every UTC day from ``since`` (all days if None), one
    transaction per day, from the events already under the watermark. Returns the
    number of days rebuilt. Run ``aggregate`` afterwards for newer arrivals.
    """
    dims = dims_for(settings)
    with map_db_errors(), engine.connect() as conn:
        lo_ts, hi_ts = conn.execute(text("SELECT MIN(ts), MAX(ts) FROM events")).one()
    if lo_ts is None:
        return 0
    first = max(int(lo_ts), since if since is not None else int(lo_ts))
    first -= first % US_PER_DAY
    days = list(range(first, int(hi_ts) + 1, US_PER_DAY))
    with map_db_errors(), engine.connect() as conn:
        apps = [int(a) for a in conn.execute(text("SELECT id FROM apps")).scalars()]
    eng = writer(engine)
    all_keys: set[tuple[int, str, int]] = set()
    for i, day in enumerate(days):
        with map_db_errors(), eng.connect() as conn, conn.begin():
            mark = lock_state(conn)
            for app_id in apps:
                rng = {"app": app_id, "d0": day, "d1": day + US_PER_DAY, "mark": mark}
                _delete_by_name(conn, rng)
                conn.execute(
                    text(
                        "DELETE FROM rollup_counts WHERE app_id = :app "
                        "AND bucket >= :d0 AND bucket < :d1"
                    ),
                    rng,
                )
                conn.execute(
                    text("DELETE FROM rollup_user_days WHERE app_id = :app AND day = :d0"), rng
                )
                delete_measure_days(conn, rng)
                where = "app_id = :app AND ts >= :d0 AND ts < :d1 AND id <= :mark"
                props = settings.measure_properties
                measures = measure_statements(conn.dialect.name, dims, props, where)
                for stmt in [*_statements(conn.dialect.name, dims, where), *measures]:
                    conn.execute(text(stmt), rng)
                keys = touched(conn, where, rng)
                refresh_days(conn, keys)
                all_keys |= keys
        if progress is not None:
            progress(i + 1, len(days) + 1)
    # Windows (WAU/MAU) span days: recompute them once, after every day is rebuilt.
    with map_db_errors(), eng.connect() as conn, conn.begin():
        lock_state(conn)
        refresh_windows(conn, all_keys)
    if progress is not None:
        progress(len(days) + 1, len(days) + 1)
    return len(days)
