"""The overview: one app at a glance, put together from the other reports (the web
dashboard's first page and ``eventkit report overview``). Nothing is computed here
that another report does not compute the same way."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from eventkit.reports.query import Report, ReportQuery
from eventkit.reports.rate import US_PER_MINUTE, events_per_minute
from eventkit.reports.service import ReportsService
from eventkit.sessions.queries import SessionFilter, session_stats
from eventkit.timeutil import US_PER_DAY, from_us

__all__ = ["RATE_MINUTES", "overview"]

#: Minutes of the live rate (the current, partial minute last).
RATE_MINUTES = 60


def overview(service: ReportsService, q: ReportQuery, *, top: int = 8) -> Report:
    """Headline numbers for ``q``'s range, as rows of ``metric, value``.

    ``meta`` has the sections: the daily series, active users, top lists (each the
    report the CLI prints), the session statistics of the last 24 hours and the events
    per minute of the last hour before ``q.until``.
    """
    until = q.until
    day = replace(q, interval="day", by=None)
    # "Today": the (UTC) day of the range's last instant (until is exclusive).
    midnight = (until - 1) - (until - 1) % US_PER_DAY
    today = service.trends(ReportQuery(q.app_id, midnight, until, "hour", None, q.where))
    daily = service.trends(day)
    active = service.active(day)
    tops = {
        "top_events": service.top(day, kind="events", limit=top, users=False),
        "platforms": service.top(day, kind="platforms", limit=top),
        "app_versions": service.top(day, kind="app_versions", limit=top),
    }
    # Sessions of the last 24 hours (as the terminal dashboard): the statistics read
    # every session of their range, so a long range would cost seconds at scale.
    day_ago = max(q.since, until - US_PER_DAY)
    stats = session_stats(
        service.engine, SessionFilter(app_id=q.app_id, since=day_ago, until=until), by="total"
    )
    session = stats[-1] if stats else None
    start = until - until % US_PER_MINUTE - (RATE_MINUTES - 1) * US_PER_MINUTE
    per_minute = events_per_minute(service.engine, q.app_id, start, until + 1)
    am = active.meta
    rows: list[dict[str, Any]] = [
        {"metric": "events", "value": daily.meta.get("total", 0)},
        {"metric": "events_today", "value": today.meta.get("total", 0)},
        {"metric": "dau", "value": am.get("dau")},
        {"metric": "wau", "value": am.get("wau")},
        {"metric": "mau", "value": am.get("mau")},
        {"metric": "stickiness", "value": am.get("stickiness")},
        {"metric": "sessions_24h", "value": session["sessions"] if session else 0},
        {"metric": "median_session_s", "value": session["median_duration_s"] if session else None},
        {"metric": "p90_session_s", "value": session["p90_duration_s"] if session else None},
        {"metric": "bounce_rate", "value": session["bounce_rate"] if session else None},
        {"metric": "events_last_minute", "value": per_minute[-2] if len(per_minute) > 1 else 0},
    ]
    meta: dict[str, Any] = {
        "since": daily.meta.get("since"),
        "until": daily.meta.get("until"),
        "as_of": from_us(until).isoformat(timespec="seconds"),
        "daily": daily.to_dict(),
        "active": active.to_dict(),
        **{k: r.to_dict() for k, r in tops.items()},
        "sessions": session,
        "per_minute": {"start": from_us(start).isoformat(timespec="minutes"), "counts": per_minute},
    }
    return Report("overview", ["metric", "value"], rows, meta)
