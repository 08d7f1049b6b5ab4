"""Retention: users grouped by the day or week they were first seen (or first did
event A), and the share who came back (did event B) in period N after it.
Computed from ``rollup_user_days``, so it is exact and needs no raw scan."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy.engine import Connection

from eventkit.errors import InvalidRequestError
from eventkit.reports.query import Report, ReportQuery, bucket_start, iso, next_bucket
from eventkit.reports.source import first_days, raw_rows, user_day_rows
from eventkit.timeutil import US_PER_DAY, now_us

__all__ = ["retention"]


def retention(
    conn: Connection,
    q: ReportQuery,
    *,
    start_event: str | None = None,
    return_event: str | None = None,
    periods: int = 8,
) -> Report:
    """The retention table: one row per cohort, columns ``0..periods-1`` in percent."""
    if q.interval not in ("day", "week"):
        raise InvalidRequestError("retention interval must be day or week")
    if q.by:
        raise InvalidRequestError("retention has no --by; narrow the cohorts with --where")
    last = q.end
    for _ in range(periods):
        last = next_bucket(last, q.interval)
    if q.where:
        firsts, returns = _filtered(conn, q, start_event, return_event, last)
    else:
        firsts = first_days(conn, app_id=q.app_id, name=start_event or "", start=q.start, end=q.end)
        # Distinct (actor, day) pairs; deduplicated below, not by a GROUP BY (a
        # sort of every user-day in the database).
        returns = user_day_rows(
            conn,
            app_id=q.app_id,
            start=q.start,
            end=last,
            name=return_event or "",
            select="actor, day",
            group="",
        )
    cohort_of = {actor: bucket_start(day, q.interval) for actor, day in firsts.items()}
    size: dict[int, int] = defaultdict(int)
    for c in cohort_of.values():
        size[c] += 1
    width = US_PER_DAY * (7 if q.interval == "week" else 1)
    # One count per distinct (actor, period): with daily periods a user-day is its
    # own period; with weeks, several days of one week count once.
    seen: set[tuple[str, int]] = set()
    back: dict[tuple[int, int], int] = defaultdict(int)
    for actor, day in set(returns):
        cohort = cohort_of.get(actor)
        if cohort is None or day < cohort:
            continue
        n = (day - cohort) // width
        if n >= periods:
            continue
        if width != US_PER_DAY:
            if (actor, n) in seen:
                continue
            seen.add((actor, n))
        back[(cohort, n)] += 1
    now = now_us()
    rows: list[dict[str, Any]] = []
    counts: list[dict[str, Any]] = []
    for c in sorted(size):
        row: dict[str, Any] = {"cohort": iso(c), "users": size[c]}
        raw: dict[str, Any] = {"cohort": iso(c), "users": size[c]}
        for n in range(periods):
            if _period_start(c, n, q.interval) > now:
                break  # not observable yet
            k = back.get((c, n), 0)
            row[str(n)] = round(100.0 * k / size[c], 1)
            raw[str(n)] = k
        rows.append(row)
        counts.append(raw)
    meta = {
        "interval": q.interval,
        "start_event": start_event or "(any event: first seen)",
        "return_event": return_event or "(any event)",
        "periods": periods,
        "counts": counts,
    }
    return Report("retention", ["cohort", "users", *map(str, range(periods))], rows, meta)


def _filtered(
    conn: Connection,
    q: ReportQuery,
    start_event: str | None,
    return_event: str | None,
    last: int,
) -> tuple[dict[str, int], list[tuple[Any, ...]]]:
    """First days and (actor, day) returns from the raw events that match ``--where``.

    The filters hold for both the event that puts a user in a cohort and the returning
    events. Rollups carry no properties, so this reads raw events: the first one over
    all history (a user's cohort is their first matching event ever), the returns over
    the report's range.
    """
    first: dict[str, int] = {}
    for ts, actor, *_ in raw_rows(
        conn, app_id=q.app_id, start=0, end=q.end,
        names=[start_event] if start_event else None, where=q.where,
    ):  # fmt: skip
        if actor is not None:
            key = str(actor)
            first[key] = min(first.get(key, int(ts)), int(ts))
    firsts = {
        actor: day
        for actor, ts in first.items()
        if q.start <= (day := bucket_start(ts, "day")) < q.end
    }
    returns = [
        (actor, bucket_start(int(ts), "day"))
        for ts, actor, *_ in raw_rows(
            conn,
            app_id=q.app_id,
            start=q.start,
            end=last,
            names=[return_event] if return_event else None,
            where=q.where,
        )
        if actor is not None
    ]
    return firsts, returns


def _period_start(cohort: int, n: int, interval: str) -> int:
    b = cohort
    for _ in range(n):
        b = next_bucket(b, interval)  # type: ignore[arg-type]
    return b
