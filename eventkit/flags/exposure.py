"""Exposure events: ``$feature_flag_called`` rows in the event store.

The event id is a UUIDv5 of app, flag, variant, user and UTC day, so the store's
``(app_id, event_id)`` dedup keeps one exposure per user, flag and variant per day.
"""

from __future__ import annotations

import uuid
from typing import Any

from eventkit.capture.schema import CanonicalEvent
from eventkit.flags.evaluator import Evaluation

__all__ = [
    "EXPOSURE_EVENT",
    "EXPOSURE_NAMESPACE",
    "exposure_event",
    "exposure_id",
    "exposure_subject",
]

EXPOSURE_EVENT = "$feature_flag_called"
EXPOSURE_NAMESPACE = uuid.UUID("8f6a2d1c-3b7e-4f0a-9c5d-6e2b1a4f7c90")
_DAY_US = 86_400 * 1_000_000


def exposure_id(app_id: int, flag: str, variant: str, user: str, at_us: int) -> uuid.UUID:
    """The deterministic event id of an exposure (one per user, flag, variant, day)."""
    day = at_us // _DAY_US
    return uuid.uuid5(EXPOSURE_NAMESPACE, f"{app_id}\x1f{flag}\x1f{variant}\x1f{user}\x1f{day}")


def _str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)[:200]


def exposure_subject(context: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(user_id, anonymous_id, who) of an exposure; ``targetingKey`` stands in for the
    user id when neither is given; ``who`` is the id the exposure is deduplicated on."""
    user_id = _str(context.get("user_id"))
    anon = _str(context.get("anonymous_id"))
    if user_id is None and anon is None:
        user_id = _str(context.get("targetingKey"))
    return user_id, anon, user_id or anon


def exposure_event(
    app_id: int, ev: Evaluation, context: dict[str, Any], at_us: int
) -> CanonicalEvent | None:
    """The exposure event for an evaluation, or None when there is no one to expose
    (no user or device id) or nothing was served (an error)."""
    user_id, anon, who = exposure_subject(context)
    if who is None or ev.variant is None or ev.error_code is not None:
        return None
    platform = _str(context.get("platform"))
    version = _str(context.get("app_version"))
    country = _str(context.get("country"))
    return CanonicalEvent(
        app_id=app_id,
        event_id=exposure_id(app_id, ev.key, ev.variant, who, at_us),
        name=EXPOSURE_EVENT,
        timestamp=at_us,
        sent_at=None,
        received_at=at_us,
        ts=at_us,
        user_id=user_id,
        anonymous_id=anon,
        session_id=None,
        platform=platform[:32] if platform else None,
        app_version=version[:64] if version else None,
        country=country[:8] if country else None,
        ip=None,
        source="flags",
        properties={
            "$feature_flag": ev.key,
            "$feature_flag_variant": ev.variant,
            "$feature_flag_reason": ev.reason,
        },
        context={},
    )
