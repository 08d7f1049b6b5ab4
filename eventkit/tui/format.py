"""Text shapes shared by the screens: event rows, the event JSON, times."""

from __future__ import annotations

import json

from eventkit.reports.events import event_record, event_summary, short_time
from eventkit.storage.models import Event

__all__ = ["EVENT_COLUMNS", "duration", "event_json", "event_row", "short_time"]

#: Columns of the events tables and their widths (fixed: a streaming tail must not jump).
EVENT_COLUMNS = (("time", 19), ("name", 20), ("user / device", 14), ("platform", 8),
                 ("version", 7), ("properties", 40))  # fmt: skip


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
    """One line of an events table (the shared :func:`event_summary`)."""
    return tuple(event_summary(e).values())


def event_json(e: Event) -> str:
    """The event as indented JSON (the shared :func:`event_record`)."""
    return json.dumps(event_record(e), indent=2, default=str)
