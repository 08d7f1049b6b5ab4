"""``--cohort NAME`` on reports (docs/reports.md#cohorts).

Every report filters raw events with ``COHORT_KEY`` like any other filter (see
``eventkit.reports.source.filter_sql``). Trends by day, week or month filtered by a
cohort alone are the common case and must be fast: they are read here from the
per-actor rollup (``rollup_user_days``: one row per actor, day and event name, with a
count) joined to the cohort's members, plus the not-yet-aggregated tail, instead of
scanning the raw events.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from eventkit.aggregation.sql import ACTOR, bucket
from eventkit.reports.query import ReportQuery, bucket_start
from eventkit.reports.source import COHORT_KEY, tail_guard, watermark_of

__all__ = ["cohort_of", "cohort_only", "cohort_series", "cohort_total"]

_MEMBERS = (
    "SELECT m.actor FROM cohort_members m JOIN cohorts c ON c.id = m.cohort_id "
    "WHERE c.app_id = :app AND c.name = :cohort"
)


def cohort_of(q: ReportQuery) -> str | None:
    """The cohort a query is filtered by (a positive ``$cohort`` filter), or None."""
    for f in q.where:
        if f.key == COHORT_KEY and not f.negate:
            return f.value
    return None


def cohort_only(q: ReportQuery, measure: str) -> bool:
    """Whether the fast path answers: count or users, a cohort filter and nothing else."""
    return (
        measure in ("count", "users")
        and q.by is None
        and q.interval != "hour"
        and len(q.where) == 1
        and cohort_of(q) is not None
    )


def _rows(conn: Connection, q: ReportQuery, event: str | None) -> list[tuple[Any, ...]]:
    """(day, actor, events) of the cohort's members in range."""
    g = tail_guard
    name = event or ""
    tname = " AND name = :name" if event else ""
    sql = (
        "SELECT day, actor, SUM(n) FROM ("
        "SELECT day, actor, count AS n FROM rollup_user_days WHERE app_id = :app "
        "AND name = :name AND day >= :s AND day < :e "
        f"UNION ALL SELECT {bucket('ts', 'd')}, {ACTOR}, 1 FROM events WHERE id > :wm "
        f"AND {g(conn, 'app_id')} = :app AND {g(conn, 'ts')} >= :s AND {g(conn, 'ts')} < :e"
        f"{tname} AND {ACTOR} IS NOT NULL) t "
        f"WHERE actor IN ({_MEMBERS}) GROUP BY day, actor"
    )
    params = {"app": q.app_id, "name": name, "s": q.start, "e": q.end,
              "wm": watermark_of(conn), "cohort": cohort_of(q)}  # fmt: skip
    return [tuple(r) for r in conn.execute(text(sql), params).all()]


def cohort_series(
    conn: Connection, q: ReportQuery, event: str | None, measure: str
) -> dict[tuple[int, str], int]:
    """``{(bucket, ""): events or distinct members}`` per interval."""
    counts: dict[int, int] = defaultdict(int)
    users: dict[int, set[str]] = defaultdict(set)
    for day, actor, n in _rows(conn, q, event):
        b = bucket_start(int(day), q.interval)
        counts[b] += int(n)
        users[b].add(str(actor))
    if measure == "users":
        return {(b, ""): len(a) for b, a in users.items()}
    return {(b, ""): n for b, n in counts.items()}


def cohort_total(conn: Connection, q: ReportQuery, event: str | None, measure: str) -> int:
    """The whole range: events, or distinct members who did them."""
    rows = _rows(conn, q, event)
    if measure == "users":
        return len({str(a) for _, a, _ in rows})
    return sum(int(n) for _, _, n in rows)
