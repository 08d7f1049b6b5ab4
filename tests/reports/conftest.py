"""Fixtures: a migrated database holding simulated traffic, and late events."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine

from eventkit.capture.schema import CanonicalEvent
from eventkit.config import AggregationSettings, Settings
from eventkit.demo import SimulationConfig, simulate
from eventkit.storage.apps import create_app
from eventkit.storage.events import EventStore
from eventkit.timeutil import US_PER_DAY, to_us

#: The simulated period ends here (a fixed instant keeps runs identical).
END = to_us(datetime(2026, 6, 30, 12, tzinfo=UTC))
DAYS = 21


@pytest.fixture
def agg(settings: Settings) -> AggregationSettings:
    """Aggregation settings that fold in events as soon as they are committed."""
    return settings.aggregation.model_copy(update={"settle_seconds": 0.0, "batch_events": 1000})


@pytest.fixture
def sim_engine(engine: Engine) -> Engine:
    """The parametrized database with app 1 and ~7k simulated events."""
    create_app(engine, "demo")
    simulate(EventStore(engine), 1, SimulationConfig(users=140, days=DAYS, seed=7, end=END))
    return engine


def late_event(name: str, ts: int, actor: str, **props: str) -> CanonicalEvent:
    """An event that happened at ``ts`` but arrives now (after rollups ran)."""
    return CanonicalEvent(
        app_id=1, event_id=uuid.uuid4(), name=name, timestamp=ts, sent_at=None,
        received_at=ts + 3 * US_PER_DAY, ts=ts, user_id=actor, anonymous_id=None,
        session_id=None, platform="ios", app_version="9.9", country="NZ", ip=None,
        source="native", properties=dict(props), context={},
    )  # fmt: skip


@pytest.fixture
def add_late(sim_engine: Engine) -> Callable[[], int]:
    """Write a set of late events (old timestamps, new arrival ids); returns how many."""

    def add() -> int:
        base = END - 10 * US_PER_DAY
        events = [
            late_event("$screen", base + i * 3_600_000_000, "late-user", screen_name="cart")
            for i in range(5)
        ]
        events += [
            late_event("signup_completed", base, "late-buyer"),
            late_event("onboarding_completed", base + 60_000_000, "late-buyer"),
            late_event("purchase_completed", base + 3 * 3_600_000_000, "late-buyer"),
            late_event("$session_start", END - 19 * US_PER_DAY, "user-0000001"),
        ]
        EventStore(sim_engine).write(events)
        return len(events)

    return add
