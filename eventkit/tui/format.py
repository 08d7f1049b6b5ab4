"""Text shapes shared by the screens: event rows, the event JSON, times."""

from __future__ import annotations

import json
from typing import Any

from eventkit.storage.models import Event
from eventkit.timeutil import from_us

__all__ = ["EVENT_COLUMNS", "duration", "event_dict", "event_json", "event_row", "short_time"]

#: Columns of the events tables and their widths (fixed: a streaming tail must not jump).
EVENT_COLUMNS = (("time", 19), ("name", 20), ("user / device", 14), ("platform", 8),
                 ("version", 7), ("properties", 40))  # fmt: skip


def short_time(us: int) -> str:
    """``2026-06-30 11:58:02`` (UTC)."""
    return from_us(us).strftime("%Y-%m-%d %H:%M:%S")


def duration(seconds: float) -> str:
    """``42s``, ``3m 05s``, ``5h 02m`` or ``2d 04h``."""
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86_400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86_400}d {s % 86_400 // 3600:02d}h"


def event_row(e: Event) -> tuple[str, ...]:
    """One line of an events table."""
    props = json.dumps(e.properties, default=str, separators=(",", ":"))
    return (
        short_time(e.ts),
        e.name,
        e.user_id or e.anonymous_id or "",
        e.platform or "",
        e.app_version or "",
        props if len(props) <= 60 else props[:59] + "…",
    )


def event_dict(e: Event) -> dict[str, Any]:
    """Every stored field of an event (the shape of ``eventkit events list -f json``)."""
    return {
        "event_id": str(e.event_id),
        "name": e.name,
        "time": from_us(e.ts).isoformat(timespec="milliseconds"),
        "timestamp": from_us(e.timestamp).isoformat(timespec="milliseconds"),
        "received_at": from_us(e.received_at).isoformat(timespec="milliseconds"),
        "user_id": e.user_id,
        "anonymous_id": e.anonymous_id,
        "session_id": e.session_id,
        "platform": e.platform,
        "app_version": e.app_version,
        "country": e.country,
        "ip": e.ip,
        "source": e.source,
        "properties": e.properties,
        "context": e.context,
    }


def event_json(e: Event) -> str:
    """The event as indented JSON."""
    return json.dumps(event_dict(e), indent=2, default=str)
