"""Fixtures: an app with seeded series, alert settings with short waits."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine

from eventkit.capture.schema import CanonicalEvent
from eventkit.config import Settings
from eventkit.storage.apps import create_app
from eventkit.storage.events import EventStore
from eventkit.timeutil import US_PER_DAY, US_PER_HOUR, to_us

#: A Monday, 00:00 UTC: day 0 of the seeded series.
T0 = to_us(datetime(2026, 3, 2, tzinfo=UTC))
SETTLE = 300


def spread(name: str, start: int, length: int, count: int, **kw: object) -> list[CanonicalEvent]:
    """``count`` events named ``name`` evenly over ``[start, start + length)``."""
    out = []
    for i in range(count):
        ts = start + (i * length) // max(count, 1)
        out.append(CanonicalEvent(
            app_id=1, event_id=uuid.uuid4(), name=name, timestamp=ts, sent_at=None,
            received_at=ts, ts=ts, user_id=f"u{i % 997}", anonymous_id=f"d{i % 997}",
            session_id=None, platform=str(kw.get("platform", "ios")), app_version="1.0",
            country=None, ip=None, source="native", properties={}, context={},
        ))  # fmt: skip
    return out


@pytest.fixture
def app(engine: Engine) -> Engine:
    """The engine with app 1 (``demo``)."""
    create_app(engine, "demo")
    return engine


@pytest.fixture
def seed(app: Engine) -> Callable[..., None]:
    """Write per-day (``unit="day"``) or per-hour counts of an event from ``T0``."""

    def write(name: str, counts: Sequence[int], unit: str = "day", offset: int = 0) -> None:
        size = US_PER_DAY if unit == "day" else US_PER_HOUR
        events: list[CanonicalEvent] = []
        for i, n in enumerate(counts):
            events += spread(name, T0 + (offset + i) * size, size, n)
        EventStore(app).write(events)

    return write


@pytest.fixture
def alert_settings(settings: Settings) -> Settings:
    """Alerts that judge a bucket ``SETTLE`` s after it ends and retry quickly."""
    alerts = settings.alerts.model_copy(
        update={"settle_seconds": float(SETTLE), "backoff_seconds": 0.0, "max_attempts": 3}
    )
    return settings.model_copy(update={"alerts": alerts})
