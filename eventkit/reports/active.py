"""Active users: DAU per day (or distinct users per week/month), WAU, MAU and
stickiness (average DAU over the last 30 days / MAU), all exact."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy.engine import Connection

from eventkit.reports.query import Report, ReportQuery, buckets, iso
from eventkit.reports.source import daily_users, raw_rows, window_users
from eventkit.reports.trends import series
from eventkit.timeutil import US_PER_DAY

__all__ = ["active_users"]


def active_users(conn: Connection, q: ReportQuery, *, rolled: set[str]) -> Report:
    """The active-users report. WAU and MAU are the trailing 7 and 30 days that end
    with the last day of the range."""
    data = series(conn, q, None, "users", rolled)
    label = {"day": "dau", "week": "wau", "month": "mau"}.get(q.interval, "users")
    rows: list[dict[str, Any]] = [
        {"bucket": iso(b, q.interval), label: data.get((b, ""), 0)}
        for b in buckets(q.start, q.end, q.interval)
    ]
    end = q.end - q.end % US_PER_DAY if q.end % US_PER_DAY else q.end
    last = end - US_PER_DAY
    if q.where:
        daily, wau, mau = _filtered_windows(conn, q, end)
    else:
        mau = window_users(conn, app_id=q.app_id, last_day=last, days=30)
        wau = window_users(conn, app_id=q.app_id, last_day=last, days=7)
        daily = daily_users(conn, app_id=q.app_id, start=end - 30 * US_PER_DAY, end=end, name="")
    last_day = daily.get(last, 0)
    avg_dau = sum(daily.values()) / 30
    meta = {
        "interval": q.interval,
        "as_of": iso(end - US_PER_DAY),
        "dau": last_day,
        "wau": wau,
        "mau": mau,
        "avg_dau_30d": round(avg_dau, 1),
        "stickiness": round(avg_dau / mau, 4) if mau else None,
    }
    return Report("active", ["bucket", label], rows, meta)


def _filtered_windows(
    conn: Connection, q: ReportQuery, end: int
) -> tuple[dict[int, int], int, int]:
    """DAU per day over the 30 days before ``end``, WAU and MAU, counting only events
    that match ``--where`` (from raw events: rollups carry no properties)."""
    by_day: dict[int, set[str]] = defaultdict(set)
    for ts, actor, *_ in raw_rows(
        conn, app_id=q.app_id, start=end - 30 * US_PER_DAY, end=end, names=None, where=q.where
    ):
        if actor is not None:
            by_day[int(ts) - int(ts) % US_PER_DAY].add(str(actor))
    week = set().union(*(u for d, u in by_day.items() if d >= end - 7 * US_PER_DAY))
    month = set().union(*by_day.values())
    return {d: len(u) for d, u in by_day.items()}, len(week), len(month)
