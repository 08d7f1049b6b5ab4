"""``--cohort NAME`` on reports (docs/reports.md#cohorts).

Every report filters raw events with ``COHORT_KEY`` like any other filter (see
``eventkit.reports.source.filter_sql``). Trends by day, week or month filtered by a
cohort alone are the common case and must be fast: they are counted here in the
database from the per-actor rollup (``rollup_user_days``: one row per actor, day and
event name, with a count) joined to the cohort's members, plus the not-yet-aggregated
tail, instead of scanning the raw events.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy.engine import Connection

from eventkit.aggregation.sql import ACTOR, bucket
from eventkit.reports.query import ReportQuery, bucket_start, next_bucket
from eventkit.reports.source import COHORT_KEY, fetch_tuples, tail_guard, watermark_of

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


def _params(conn: Connection, q: ReportQuery, event: str | None) -> dict[str, Any]:
    return {"app": q.app_id, "name": event or "", "s": q.start, "e": q.end,
            "wm": watermark_of(conn), "cohort": cohort_of(q)}  # fmt: skip


def _tail_sql(conn: Connection, event: str | None, select: str) -> str:
    """The cohort members' events not rolled up yet, in range."""
    g = tail_guard
    tname = " AND name = :name" if event else ""
    return (
        f"SELECT {select} FROM events WHERE id > :wm AND {g(conn, 'app_id')} = :app "
        f"AND {g(conn, 'ts')} >= :s AND {g(conn, 'ts')} < :e{tname} AND {ACTOR} IS NOT NULL "
        f"AND {ACTOR} IN ({_MEMBERS})"
    )


_ROLLED = (
    "FROM rollup_user_days WHERE app_id = :app AND name = :name AND day >= :lo AND day < :hi "
    f"AND actor IN ({_MEMBERS})"
)


def _buckets(q: ReportQuery, whole: bool) -> list[tuple[int, int]]:
    """``[lo, hi)`` of every interval of the query (one for the whole range)."""
    if whole:
        return [(q.start, q.end)]
    out, lo = [], q.start
    while lo < q.end:
        hi = min(next_bucket(lo, q.interval), q.end)
        out.append((lo, hi))
        lo = hi
    return out


def _aggregate(
    conn: Connection, q: ReportQuery, event: str | None, measure: str, whole: bool
) -> dict[int, int]:
    """``{bucket start: events or distinct members}``. The rolled-up part is counted
    in the database (no per-actor rows leave it); the tail is added in Python, and a
    tail actor already counted in a bucket from the rollup is not counted twice."""
    params = _params(conn, q, event)
    tail = fetch_tuples(conn, _tail_sql(conn, event, f"{bucket('ts', 'd')}, {ACTOR}"), params)
    buckets = _buckets(q, whole)

    def key(day: int) -> int:
        return q.start if whole else bucket_start(day, q.interval)

    out: dict[int, int] = defaultdict(int)
    if measure == "count":
        rolled = fetch_tuples(conn, f"SELECT day, SUM(count) {_ROLLED} GROUP BY day",
                              {**params, "lo": q.start, "hi": q.end})  # fmt: skip
        for day, n in rolled:
            out[key(int(day))] += int(n)
        for day, _ in tail:
            out[key(int(day))] += 1
        return dict(out)
    if q.interval == "day" and not whole:
        rolled = fetch_tuples(conn, f"SELECT day, COUNT(*) {_ROLLED} GROUP BY day",
                              {**params, "lo": q.start, "hi": q.end})  # fmt: skip
    else:
        distinct = f"SELECT COUNT(DISTINCT actor) {_ROLLED}"
        rolled = [
            (lo, fetch_tuples(conn, distinct, {**params, "lo": lo, "hi": hi})[0][0])
            for lo, hi in buckets
        ]
    for b, n in rolled:
        out[int(b)] += int(n)
    if tail:
        seen: dict[int, set[str]] = defaultdict(set)
        for day, actor in fetch_tuples(
            conn,
            f"SELECT day, actor {_ROLLED} AND actor IN ({_tail_sql(conn, event, ACTOR)})",
            {**params, "lo": q.start, "hi": q.end},
        ):
            seen[key(int(day))].add(str(actor))
        for day, actor in tail:
            b = key(int(day))
            if str(actor) not in seen[b]:
                seen[b].add(str(actor))
                out[b] += 1
    return dict(out)


def cohort_series(
    conn: Connection, q: ReportQuery, event: str | None, measure: str
) -> dict[tuple[int, str], int]:
    """``{(bucket, ""): events or distinct members}`` per interval."""
    return {(b, ""): n for b, n in _aggregate(conn, q, event, measure, whole=False).items() if n}


def cohort_total(conn: Connection, q: ReportQuery, event: str | None, measure: str) -> int:
    """The whole range: events, or distinct members who did them."""
    return sum(_aggregate(conn, q, event, measure, whole=True).values())
