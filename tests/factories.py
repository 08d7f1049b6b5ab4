"""Builders of test data shared by the test packages."""

from __future__ import annotations

import uuid
from typing import Any

from eventkit.capture.schema import CanonicalEvent
from eventkit.timeutil import now_us

__all__ = ["make_event"]


def make_event(app_id: int, name: str = "screen_view", **kw: Any) -> CanonicalEvent:
    """A valid canonical event, ready for ``EventStore.write``; ``kw`` overrides fields."""
    now = now_us()
    fields: dict[str, Any] = {
        "app_id": app_id,
        "event_id": uuid.uuid4(),
        "name": name,
        "timestamp": now,
        "sent_at": None,
        "received_at": now,
        "ts": now,
        "user_id": None,
        "anonymous_id": "device-1",
        "session_id": None,
        "platform": "ios",
        "app_version": "1.0",
        "country": None,
        "ip": None,
        "source": "native",
        "properties": {"screen": "home", "n": 1, "nested": {"a": [1, 2]}},
        "context": {"os": {"name": "iOS"}},
    }
    fields.update(kw)
    return CanonicalEvent(**fields)
