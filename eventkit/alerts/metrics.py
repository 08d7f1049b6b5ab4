"""The value of a rule's metric in given buckets, computed by the same report code the
CLI, API and dashboard use (eventkit.reports), so an alert's number is always the
report's number."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from eventkit.alerts.anomaly import count_noise, share_noise
from eventkit.alerts.spec import PERCENT_METRICS, RELEASE_METRICS, Metric
from eventkit.reports.funnel import funnel, parse_step
from eventkit.reports.query import Interval, ReportQuery, next_bucket, parse_filter
from eventkit.reports.releases import health, latest_version
from eventkit.reports.trends import Measure, series
from eventkit.storage.errors import map_db_errors

__all__ = ["Point", "first_event_at", "metric_values", "resolve_version"]


@dataclass(frozen=True)
class Point:
    """A metric's value in one bucket. ``value`` is None when it has no meaning there
    (no data yet, an empty denominator, fewer than ``min_sample``); ``sample`` is the
    denominator of a ratio metric (users, sessions, funnel entrants)."""

    value: float | None
    sample: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def noise(self, metric: Metric) -> float:
        """The spread this value has by chance (for the anomaly check)."""
        if self.value is None:
            return 0.0
        if metric.kind in PERCENT_METRICS:
            return share_noise(self.value, self.sample or 0)
        if metric.kind == "errors_per_session":
            return count_noise(self.value * (self.sample or 1)) / max(self.sample or 1, 1)
        return count_noise(self.value)


def first_event_at(conn: Connection, app_id: int) -> int | None:
    """When the app's first event happened (None: no events yet)."""
    value = conn.execute(
        text("SELECT MIN(ts) FROM events WHERE app_id = :app"), {"app": app_id}
    ).scalar()
    return None if value is None else int(value)


def resolve_version(conn: Connection, app_id: int, metric: Metric) -> str | None:
    """The version a release metric watches: as given, or the one first seen most
    recently (on ``metric.platform``, else on any platform)."""
    if metric.version != "latest":
        return metric.version
    return latest_version(conn, app_id, metric.platform)


def _span(starts: list[int], interval: Interval) -> tuple[int, int]:
    return min(starts), next_bucket(max(starts), interval)


def _trend(
    conn: Connection,
    app_id: int,
    metric: Metric,
    interval: Interval,
    starts: list[int],
    rolled: set[str],
) -> dict[int, Point]:
    since, until = _span(starts, interval)
    measure: Measure = "count" if metric.kind == "events" else "users"
    q = ReportQuery(
        app_id=app_id,
        since=since,
        until=until,
        interval=interval,
        where=tuple(parse_filter(w) for w in metric.where),
    )
    event = metric.event if metric.kind in ("events", "users") else None
    data = series(conn, q, event, measure, rolled)
    return {s: Point(float(data.get((s, ""), 0))) for s in starts}


def _funnel(
    conn: Connection, app_id: int, metric: Metric, interval: Interval, starts: list[int]
) -> dict[int, Point]:
    steps = [parse_step(s) for s in metric.steps]
    where = tuple(parse_filter(w) for w in metric.where)
    out = {}
    for s in starts:
        q = ReportQuery(
            app_id=app_id, since=s, until=next_bucket(s, interval), interval=interval, where=where
        )
        meta = funnel(conn, q, steps, window_seconds=metric.window_seconds).meta
        entered, converted = int(meta["entered"]), int(meta["converted"])
        value = 100.0 * converted / entered if entered else None
        out[s] = Point(value, entered, {"entered": entered, "converted": converted})
    return out


def _release(
    conn: Connection, app_id: int, metric: Metric, interval: Interval, starts: list[int]
) -> dict[int, Point]:
    version = resolve_version(conn, app_id, metric)
    out: dict[int, Point] = {}
    for s in starts:
        if version is None:
            out[s] = Point(None, None, {"version": None})
            continue
        items, total = health(
            conn,
            app_id,
            s,
            next_bucket(s, interval),
            version=version,
            platform=metric.platform,
            by_platform=False,
        )
        h = items[0] if items else None
        detail: dict[str, Any] = {"version": version, "platform": metric.platform}
        if h is not None:
            detail.update(
                users=h.users,
                crashed_users=h.crashed_users,
                sessions=h.sessions,
                crashed_sessions=h.crashed_sessions,
                crashes=h.crashes,
                errors=h.errors,
            )
        out[s] = _release_point(metric, h, total, detail)
    return out


def _release_point(metric: Metric, h: Any, total: int, detail: dict[str, Any]) -> Point:
    kind = metric.kind
    if kind == "crashes":
        return Point(float(h.crashes if h else 0), None, detail)
    if kind == "adoption":
        users = h.users if h else 0
        return Point(100.0 * users / total if total else None, total, detail)
    if h is None:
        return Point(None, 0, detail)
    if kind == "crash_free_users":
        cf = h.crash_free_users
        return Point(None if cf is None else 100.0 * cf, h.users, detail)
    if kind == "crash_free_sessions":
        cf = h.crash_free_sessions
        return Point(None if cf is None else 100.0 * cf, h.sessions, detail)
    return Point(h.errors_per_session, h.sessions, detail)


def metric_values(
    conn: Connection,
    app_id: int,
    metric: Metric,
    interval: Interval,
    starts: list[int],
    *,
    rolled: set[str],
) -> dict[int, Point]:
    """``{bucket start: Point}`` for each of ``starts``. Buckets that ended before the
    app's first event are None (no history yet), and ratio metrics with fewer than
    ``min_sample`` in their denominator are None too."""
    with map_db_errors():
        first = first_event_at(conn, app_id)
        if first is None or not starts:
            return {s: Point(None) for s in starts}
        live = [s for s in starts if next_bucket(s, interval) > first]
        if metric.kind in RELEASE_METRICS:
            got = _release(conn, app_id, metric, interval, live)
        elif metric.kind == "funnel_conversion":
            got = _funnel(conn, app_id, metric, interval, live)
        else:
            got = _trend(conn, app_id, metric, interval, live, rolled) if live else {}
    out = {}
    for s in starts:
        p = got.get(s, Point(None))
        if p.value is not None and p.sample is not None and p.sample < metric.min_sample:
            p = Point(None, p.sample, {**p.detail, "below_min_sample": metric.min_sample})
        out[s] = p
    return out
