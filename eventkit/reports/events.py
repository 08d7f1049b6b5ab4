"""The one presentation of a stored event, shared by ``GET /v1/events``, the CLI
(``events list|tail``, json and csv) and the dashboard, so the three never drift.

- :func:`event_record`: every stored field, JSON-ready (times ISO 8601 UTC);
- :func:`event_summary`: the few columns a table line shows (time, name, who, platform,
  version and a short properties preview); the full record is for JSON.
"""

from __future__ import annotations

import json
from typing import Any

from eventkit.storage.models import Event
from eventkit.timeutil import from_us

__all__ = [
    "RECORD_FIELDS",
    "SUMMARY_FIELDS",
    "event_record",
    "event_summary",
    "iso",
    "preview",
    "short_time",
]

#: The keys of :func:`event_record`, in order (``app`` and ``ip`` only when asked for).
RECORD_FIELDS = (
    "event_id", "name", "ts", "timestamp", "sent_at", "received_at", "user_id",
    "anonymous_id", "session_id", "platform", "app_version", "country", "source",
    "properties", "context",
)  # fmt: skip
#: The keys of :func:`event_summary`, in order.
SUMMARY_FIELDS = ("time", "name", "who", "platform", "version", "properties")


def iso(us: int | None) -> str | None:
    """Epoch microseconds as ISO 8601 UTC with milliseconds (None stays None)."""
    return None if us is None else from_us(us).isoformat(timespec="milliseconds")


def short_time(us: int) -> str:
    """``2026-06-30 11:58:02`` (UTC), for table lines."""
    return from_us(us).strftime("%Y-%m-%d %H:%M:%S")


def preview(value: Any, width: int = 60) -> str:
    """Compact JSON of ``value``, cut to ``width`` characters with an ellipsis."""
    text = json.dumps(value, default=str, separators=(",", ":"), ensure_ascii=False)
    return text if len(text) <= width else text[: width - 1] + "…"


def event_record(e: Event, *, app: str | None = None, ip: bool = True) -> dict[str, Any]:
    """Every stored field of an event. ``app`` adds the app's name first (listings
    across apps); ``ip=False`` leaves the client address out (the HTTP read API)."""
    record: dict[str, Any] = {"app": app} if app is not None else {}
    record.update(
        event_id=str(e.event_id),
        name=e.name,
        ts=iso(e.ts),
        timestamp=iso(e.timestamp),
        sent_at=iso(e.sent_at),
        received_at=iso(e.received_at),
        user_id=e.user_id,
        anonymous_id=e.anonymous_id,
        session_id=e.session_id,
        platform=e.platform,
        app_version=e.app_version,
        country=e.country,
        source=e.source,
        properties=e.properties,
        context=e.context,
    )
    if ip:
        record["ip"] = e.ip
    return record


def event_summary(e: Event, *, width: int = 60) -> dict[str, str]:
    """A table line: corrected time, name, user (or device), platform, app version and
    the properties as compact JSON cut to ``width``."""
    return {
        "time": short_time(e.ts),
        "name": e.name,
        "who": e.user_id or e.anonymous_id or "",
        "platform": e.platform or "",
        "version": e.app_version or "",
        "properties": preview(e.properties, width),
    }
