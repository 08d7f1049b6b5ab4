"""Helpers for session tests: canonical events at chosen times, stored directly."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from eventkit.capture.schema import CanonicalEvent
from eventkit.storage.events import EventStore
from eventkit.storage.models import SESSIONS

T0 = 1_780_000_000_000_000  # a fixed instant (2026-05-28), epoch microseconds
MIN = 60_000_000


def ev(
    app_id: int,
    minute: float,
    *,
    name: str = "tap",
    device: str | None = "dev-1",
    user: str | None = None,
    session: str | None = None,
    platform: str | None = "ios",
    version: str | None = "1.0",
    screen: str | None = None,
    event_id: uuid.UUID | None = None,
) -> CanonicalEvent:
    """An event ``minute`` minutes after T0."""
    ts = T0 + round(minute * MIN)
    props: dict[str, Any] = {"$screen_name": screen} if screen else {}
    return CanonicalEvent(
        app_id=app_id,
        event_id=event_id or uuid.uuid4(),
        name=name,
        timestamp=ts,
        sent_at=None,
        received_at=ts,
        ts=ts,
        user_id=user,
        anonymous_id=device,
        session_id=session,
        platform=platform,
        app_version=version,
        country=None,
        ip=None,
        source="native",
        properties=props,
        context={},
    )


def store(engine: Engine, events: Sequence[CanonicalEvent]) -> None:
    """Write events through the real event store."""
    EventStore(engine).write(list(events))


def sessions(engine: Engine) -> list[dict[str, Any]]:
    """Every stored session, oldest start first."""
    with engine.connect() as conn:
        rows = conn.execute(select(SESSIONS).order_by(SESSIONS.c.started_at)).mappings()
        return [dict(r) for r in rows]
