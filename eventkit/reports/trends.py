"""Trends: event count or unique users per interval, optionally broken down by a
property and compared with the previous period."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from itertools import pairwise
from typing import Any, Literal

from sqlalchemy.engine import Connection

from eventkit.aggregation.sql import BUILTIN_DIMS
from eventkit.reports.cohort_filter import cohort_only, cohort_series, cohort_total
from eventkit.reports.query import (
    Interval,
    Report,
    ReportQuery,
    bucket_start,
    buckets,
    iso,
)
from eventkit.reports.source import count_rows, daily_users, raw_rows, user_day_rows

__all__ = ["Measure", "series", "trends"]

Measure = Literal["count", "users"]
Series = dict[tuple[int, str], int]


def _dim(key: str | None) -> str:
    if key is None:
        return ""
    return key if key in BUILTIN_DIMS else f"prop:{key}"


def _case(column: str, starts: list[int]) -> str:
    """SQL mapping a day to the start of its week/month (``starts`` ascending)."""
    whens = " ".join(f"WHEN {column} < {b} THEN {a}" for a, b in pairwise(starts))
    return f"(CASE {whens} ELSE {starts[-1]} END)" if whens else str(starts[0])


def _raw(conn: Connection, q: ReportQuery, event: str | None, measure: Measure) -> Series:
    extra = [q.by] if q.by else []
    rows = raw_rows(
        conn,
        app_id=q.app_id,
        start=q.start,
        end=q.end,
        names=[event] if event else None,
        where=q.where,
        extra=extra,
    )
    counts: dict[tuple[int, str], int] = defaultdict(int)
    users: dict[tuple[int, str], set[str]] = defaultdict(set)
    for row in rows:
        key = (bucket_start(int(row[0]), q.interval), "" if not q.by else str(row[3] or ""))
        counts[key] += 1
        if row[1] is not None:
            users[key].add(row[1])
    if measure == "users":
        return {k: len(v) for k, v in users.items()}
    return dict(counts)


def _rolled(conn: Connection, q: ReportQuery, event: str | None, measure: Measure) -> Series:
    if measure == "count":
        dim, value = _dim(q.by), None
        if q.where:  # one equality filter on a rolled-up breakdown, no breakdown
            dim, value = _dim(q.where[0].key), q.where[0].value
        period = "h" if q.interval == "hour" else "d"
        out: Series = defaultdict(int)
        for b, v, c in count_rows(
            conn, app_id=q.app_id, period=period, start=q.start, end=q.end,
            name=event, dim=dim, value=value,
        ):  # fmt: skip
            out[(bucket_start(int(b), q.interval), v if q.by else "")] += int(c)
        return dict(out)
    if q.interval == "day":
        daily = daily_users(conn, app_id=q.app_id, start=q.start, end=q.end, name=event or "")
        return {(b, ""): n for b, n in daily.items()}
    starts = buckets(q.start, q.end, q.interval)
    expr = _case("day", starts)
    rows = user_day_rows(
        conn, app_id=q.app_id, start=q.start, end=q.end, name=event or "",
        select=f"{expr}, COUNT(DISTINCT actor)", group=expr,
    )  # fmt: skip
    return {(int(b), ""): int(n) for b, n in rows}


def uses_rollups(q: ReportQuery, measure: Measure, rolled: set[str]) -> bool:
    """Whether the rollups can answer ``q`` (else raw events are scanned)."""
    if measure == "users":
        return not q.where and q.by is None and q.interval != "hour"
    if q.where:
        f = q.where[0]
        return len(q.where) == 1 and not f.negate and q.by is None and _dim(f.key) in rolled
    return q.by is None or _dim(q.by) in rolled


def series(
    conn: Connection, q: ReportQuery, event: str | None, measure: Measure, rolled: set[str]
) -> Series:
    """``{(bucket start, breakdown value): number}`` for the query."""
    if cohort_only(q, measure):
        return cohort_series(conn, q, event, measure)
    if uses_rollups(q, measure, rolled):
        return _rolled(conn, q, event, measure)
    return _raw(conn, q, event, measure)


def _total(
    conn: Connection, q: ReportQuery, event: str | None, measure: Measure, rolled: set[str]
) -> int:
    if measure == "count":
        return sum(series(conn, q, event, measure, rolled).values())
    if cohort_only(q, measure):
        return cohort_total(conn, q, event, measure)
    whole = replace(q, interval="month")
    if uses_rollups(whole, measure, rolled):
        rows = user_day_rows(
            conn, app_id=q.app_id, start=q.start, end=q.end, name=event or "",
            select="COUNT(DISTINCT actor)", group="",
        )  # fmt: skip
        return int(rows[0][0])
    raw = raw_rows(
        conn, app_id=q.app_id, start=q.start, end=q.end,
        names=[event] if event else None, where=q.where,
    )  # fmt: skip
    return len({r[1] for r in raw if r[1] is not None})


def trends(
    conn: Connection,
    q: ReportQuery,
    *,
    event: str | None = None,
    measure: Measure = "count",
    compare: bool = False,
    total: bool = True,
    rolled: set[str],
) -> Report:
    """The trends report: one row per bucket (and breakdown value). ``total`` adds
    the range total (for users an exact distinct count over the whole range)."""
    data = series(conn, q, event, measure, rolled)
    interval: Interval = q.interval
    values = sorted({v for _, v in data}) or [""]
    rows: list[dict[str, Any]] = []
    for b in buckets(q.start, q.end, interval):
        for v in values:
            row: dict[str, Any] = {"bucket": iso(b, interval)}
            if q.by:
                row[q.by] = v
            row[measure] = data.get((b, v), 0)
            rows.append(row)
    meta: dict[str, Any] = {
        "event": event or "(all events)",
        "measure": measure,
        "interval": interval,
        "since": iso(q.start, "hour"),
        "until": iso(q.end, "hour"),
        "total": _total(conn, q, event, measure, rolled) if total and not q.by else None,
    }
    if compare:
        span = q.end - q.start
        prev = replace(q, since=q.start - span, until=q.start)
        before = _total(conn, prev, event, measure, rolled)
        meta["previous_total"] = before
        now = (
            meta["total"] if meta["total"] is not None else _total(conn, q, event, measure, rolled)
        )
        meta["change_pct"] = round(100.0 * (now - before) / before, 1) if before else None
        prev_data = series(conn, prev, event, measure, rolled)
        by_bucket: dict[int, int] = defaultdict(int)
        for (b, _), c in prev_data.items():
            by_bucket[b] += c
        meta["previous"] = [
            {"bucket": iso(b, interval), measure: by_bucket.get(b, 0)}
            for b in buckets(prev.start, prev.end, interval)
        ]
    cols = ["bucket", *([q.by] if q.by else []), measure]
    return Report("trends", cols, rows, meta)
