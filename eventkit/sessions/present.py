"""Sessions as JSON-ready dicts: the one shape the CLI and the HTTP API both print."""

from __future__ import annotations

from typing import Any

from eventkit.timeutil import US_PER_SECOND, from_us

__all__ = ["SESSION_COLUMNS", "session_dict", "timeline_dict"]

#: Columns of ``sessions list`` tables (JSON and CSV carry every key).
SESSION_COLUMNS = [
    "id",
    "started_at",
    "duration_s",
    "user_id",
    "anonymous_id",
    "platform",
    "app_version",
    "event_count",
    "screen_count",
    "entry_screen",
    "exit_screen",
    "bounced",
    "is_open",
]


def _iso(us: int | None) -> str | None:
    return None if us is None else from_us(us).isoformat(timespec="milliseconds")


def session_dict(row: dict[str, Any], app_name: str | None = None) -> dict[str, Any]:
    """A stored session row as a dict with ISO times and a duration in seconds."""
    return {
        "id": row["id"],
        "app": app_name if app_name is not None else row["app_id"],
        "client_session_id": row["client_session_id"],
        "user_id": row["user_id"],
        "anonymous_id": row["anonymous_id"],
        "platform": row["platform"],
        "app_version": row["app_version"],
        "started_at": _iso(row["started_at"]),
        "last_event_at": _iso(row["last_event_at"]),
        "ended_at": _iso(row["ended_at"]),
        "duration_s": round(row["duration_us"] / US_PER_SECOND, 3),
        "event_count": row["event_count"],
        "screen_count": row["screen_count"],
        "entry_screen": row["entry_screen"],
        "exit_screen": row["exit_screen"],
        "bounced": bool(row["bounced"]),
        "is_open": bool(row["is_open"]),
    }


def timeline_dict(session: dict[str, Any]) -> list[dict[str, Any]]:
    """The events of a session (from ``get_session``), oldest first, with ISO times and
    the offset from the session start."""
    start = session["started_at"]
    return [
        {
            "time": _iso(e["ts"]),
            "offset_s": round((e["ts"] - start) / US_PER_SECOND, 3),
            "name": e["name"],
            "user_id": e["user_id"],
            "event_id": e["event_id"],
            "properties": e["properties"],
        }
        for e in session["events"]
    ]
