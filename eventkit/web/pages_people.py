"""Sessions, Users and Live: statistics for everyone, people and raw events for
members only (a share link sees the statistics and nothing else)."""

from __future__ import annotations

from typing import Any

from eventkit.errors import InvalidRequestError, PermissionDeniedError
from eventkit.reports.events import event_record, event_summary
from eventkit.reports.query import parse_filter
from eventkit.reports.users import user_timeline
from eventkit.sessions.present import SESSION_COLUMNS, session_dict, timeline_dict
from eventkit.sessions.queries import SessionFilter, get_session, list_sessions, session_stats
from eventkit.storage.events import EventFilter, query_events
from eventkit.storage.models import Event
from eventkit.timeutil import parse_when
from eventkit.web.charts import line_chart
from eventkit.web.view import Page, View

__all__ = ["event_rows", "live", "session", "sessions", "users"]

GROUPINGS = ("day", "platform", "app_version", "total")


def _no_people(v: View) -> None:
    if v.principal.is_share:
        raise PermissionDeniedError("a share link shows statistics only")


def _when(v: View, name: str, default: str | None) -> int | None:
    text = v.arg(name) or default
    if not text:
        return None
    try:
        return parse_when(text, now=v.clock())
    except ValueError as exc:
        raise InvalidRequestError(f"{name}: {exc}") from None


def event_rows(events: list[Event], app_name: str) -> tuple[list[dict[str, Any]], list[Any]]:
    """Events as ``eventkit events list`` presents them (the one event presenter): full
    records for the twins, table lines (with the record) for the page."""
    records = [event_record(e, app=app_name) for e in events]
    lines = [{**event_summary(e), "record": r} for e, r in zip(events, records, strict=True)]
    return records, lines


def sessions(v: View) -> Page:
    """Session statistics (``eventkit sessions stats``); members also get the newest
    sessions (``?view=list``: ``eventkit sessions list``)."""
    by = v.arg("by", "day")
    if by not in GROUPINGS:
        raise InvalidRequestError(f"by must be one of {', '.join(GROUPINGS)}")
    flt = SessionFilter(
        app_id=v.app.id,
        since=_when(v, "since", "30d"),
        until=_when(v, "until", None),
        platform=v.arg("platform") or None,
    )
    stats = session_stats(v.engine, flt, by=by)  # type: ignore[arg-type]
    recent: list[dict[str, Any]] = []
    if not v.principal.is_share:
        limit = v.number("limit", 50, 1, 1000)
        recent = [session_dict(r, v.app.name) for r in list_sessions(v.engine, flt, limit=limit)]
    if v.arg("view") == "list":
        _no_people(v)
        return Page(
            "sessions.html",
            "Sessions",
            {"stats": stats, "recent": recent, "chart": None, "by": by},
            recent,
            recent,
            None,
        )
    chart = None
    days = [s for s in stats if s["group"] != "all"]
    if by == "day" and days:
        chart = line_chart(
            [s["group"] for s in days],
            {"sessions": [s["sessions"] for s in days]},
            title="Sessions per day",
            height=200,
        )
    return Page(
        "sessions.html",
        "Sessions",
        {"stats": stats, "recent": recent, "chart": chart, "by": by, "columns": SESSION_COLUMNS},
        stats,
        stats,
        None,
    )


def session(v: View, ident: str) -> Page:
    """One session and its timeline (``eventkit sessions show``)."""
    _no_people(v)
    found = get_session(v.engine, ident, app_id=v.app.id)
    summary = session_dict(found, v.app.name)
    events = timeline_dict(found)
    return Page(
        "session.html",
        f"Session {summary['id'][:8]}",
        {"session": summary, "events": events},
        {**summary, "events": events},
        events,
        ["time", "offset_s", "name", "user_id", "event_id", "properties"],
    )


def _events(v: View, limit: int) -> list[Event]:
    """The newest events matching the URL's name, user and ``where`` filters."""
    wheres = [parse_filter(w) for w in v.args("where")]
    flt = EventFilter(app_id=v.app.id, name=v.arg("name") or None, user_id=v.arg("user_id") or None)
    rows = query_events(v.engine, flt, limit=limit * 20 if wheres else limit)
    if wheres:
        rows = [e for e in rows if all(w.matches(_prop(e, w.key)) for w in wheres)][:limit]
    return rows


def _prop(e: Event, key: str) -> Any:
    columns = {
        "platform": e.platform,
        "app_version": e.app_version,
        "country": e.country,
        "name": e.name,
    }
    if key in columns:
        return columns[key]
    return e.properties.get(key) if isinstance(e.properties, dict) else None


def users(v: View) -> Page:
    """``?user=ID``: a user's profile and timeline (``eventkit users show``); without
    it, the newest events and the users behind them (``eventkit events list``)."""
    _no_people(v)
    who = v.arg("user")
    limit = v.number("limit", 50, 1, 1000)
    if who:
        data = user_timeline(v.engine, v.app.id, who, limit=limit)
        return Page(
            "user.html", f"User {who}", {"data": data, "who": who}, data, data["events"], None
        )
    rows, lines = event_rows(_events(v, limit), v.app.name)
    recent = list(dict.fromkeys(r["user_id"] or r["anonymous_id"] for r in rows))
    return Page("users.html", "Users", {"events": lines, "recent": recent[:30]}, rows, rows)


def live(v: View) -> Page:
    """The newest events, then new ones as they arrive (the page's stream)."""
    _no_people(v)
    rows, lines = event_rows(_events(v, v.number("limit", 50, 1, 500)), v.app.name)
    return Page("live.html", "Live", {"events": lines}, rows, rows)
