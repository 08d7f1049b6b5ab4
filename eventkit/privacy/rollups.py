"""Take deleted events out of the report rollups, exactly, without rebuilding days.

The additive rollups lose the deleted events' counts (the same groupings the rollup
job adds them with); the per-actor rollups lose the actor's rows; the distinct-user
counts (``$users``, ``$wau``, ``$mau``) of every day the actor was active are computed
again from what remains. Days whose raw events retention already purged are handled
too: the actor's rows go, and the distinct counts follow.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, text
from sqlalchemy.engine import Connection

from eventkit.aggregation.distinct import refresh_days, refresh_windows, window_horizon
from eventkit.aggregation.rollups import lock_state
from eventkit.aggregation.sql import ACTOR, bucket, dim_expr
from eventkit.sessions.job import bump_generation, lock_watermark

__all__ = ["lock_jobs", "remove_actors", "subtract_events"]

_CHUNK = 500


def lock_jobs(conn: Connection) -> tuple[int, int]:
    """Before deleting stored events: lock the rollup and sessions watermarks (row locks
    on PostgreSQL, so either job waits for this transaction and then sees its result)
    and bump the sessions generation (a sessions run planned earlier plans again).
    Returns the rollup and sessions watermarks."""
    rollups = lock_state(conn)
    sessions = lock_watermark(conn)
    bump_generation(conn)
    return rollups, sessions


def _chunks(ids: Sequence[int]) -> list[list[int]]:
    return [list(ids[i : i + _CHUNK]) for i in range(0, len(ids), _CHUNK)]


def subtract_events(conn: Connection, app_id: int, ids: Sequence[int], dims: Sequence[str]) -> int:
    """Subtract the events ``ids`` (already rolled up, still stored) from
    ``rollup_counts`` and ``rollup_events_by_name``; returns the rows changed."""
    if not ids:
        return 0
    dialect = conn.dialect.name
    totals: dict[tuple[str, int, str, str, str], int] = {}
    for chunk in _chunks(ids):
        for period in ("h", "d"):
            b = bucket("ts", period)
            groups = [("''", "''", "")] + [
                (f"'{d}'", dim_expr(dialect, d), f", {dim_expr(dialect, d)}") for d in dims
            ]
            for dim, value, extra in groups:
                stmt = text(
                    f"SELECT {b}, name, {dim}, {value}, COUNT(*) FROM events WHERE id IN :ids "
                    f"GROUP BY {b}, name{extra}"
                ).bindparams(bindparam("ids", expanding=True))
                for bk, name, d, v, n in conn.execute(stmt, {"ids": chunk}):
                    group = (period, int(bk), str(name), str(d), str(v))
                    totals[group] = totals.get(group, 0) + int(n)
        named = [
            {"a": app_id, "n": r.name, "t": r.ts, "i": r.id}
            for r in conn.execute(
                text(
                    f"SELECT id, name, ts FROM events WHERE id IN :ids AND {ACTOR} IS NOT NULL"
                ).bindparams(bindparam("ids", expanding=True)),
                {"ids": chunk},
            )
        ]
        if named:
            conn.execute(
                text(
                    "DELETE FROM rollup_events_by_name WHERE app_id = :a AND name = :n "
                    "AND ts = :t AND id = :i"
                ),
                named,
            )
    rows = [
        {"a": app_id, "p": p, "b": bk, "n": n, "d": d, "v": v, "c": c}
        for (p, bk, n, d, v), c in sorted(totals.items())
    ]
    if rows:
        key = (
            "app_id = :a AND period = :p AND bucket = :b AND name = :n AND dim = :d AND value = :v"
        )
        conn.execute(text(f"UPDATE rollup_counts SET count = count - :c WHERE {key}"), rows)
        conn.execute(text(f"DELETE FROM rollup_counts WHERE {key} AND count <= 0"), rows)
    return len(rows)


def remove_actors(conn: Connection, app_id: int, actors: Sequence[str]) -> dict[str, int]:
    """Delete the actors' per-actor rollup rows and recompute the distinct-user counts
    of every day they were active; returns rows deleted per table."""
    if not actors:
        return {}
    p = {"a": app_id, "actors": list(actors)}
    days = conn.execute(
        text(
            "SELECT DISTINCT name, day FROM rollup_user_days WHERE app_id = :a AND actor IN :actors"
        ).bindparams(bindparam("actors", expanding=True)),
        p,
    ).all()
    keys = {(app_id, str(n), int(d)) for n, d in days}
    out = {
        "rollup_user_days": conn.execute(
            text("DELETE FROM rollup_user_days WHERE app_id = :a AND actor IN :actors").bindparams(
                bindparam("actors", expanding=True)
            ),
            p,
        ).rowcount,
        "rollup_first_days": conn.execute(
            text("DELETE FROM rollup_first_days WHERE app_id = :a AND actor IN :actors").bindparams(
                bindparam("actors", expanding=True)
            ),
            p,
        ).rowcount,
    }
    if keys:
        # A day left without users must lose its row: the refresh only writes days
        # that still have some.
        conn.execute(
            text(
                "DELETE FROM rollup_counts WHERE app_id = :a AND period = 'd' AND bucket = :d "
                "AND name = :n AND dim = '$users' AND value = ''"
            ),
            [
                {"a": a, "n": n, "d": d}
                for a, n, d in sorted(keys | {(a, "", d) for a, _, d in keys})
            ],
        )
        refresh_days(conn, keys)
        refresh_windows(conn, keys)
        # Windows ending after the horizon are never refreshed again: drop them.
        horizon = window_horizon(conn, app_id)
        last = -1 if horizon is None else horizon
        conn.execute(
            text(
                "DELETE FROM rollup_counts WHERE app_id = :a AND period = 'd' "
                "AND dim IN ('$wau', '$mau') AND bucket > :last"
            ),
            {"a": app_id, "last": last},
        )
    return out
