"""Hypothesis fuzzing of the native decoder: any body either becomes per-event verdicts
or one clear 4xx error, and every accepted event can be stored on both databases.

``FUZZ_EXAMPLES`` sets the examples per test (200 here; ``make fuzz`` runs more).
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from eventkit.config import Settings
from eventkit.errors import InvalidRequestError
from eventkit.ingest.service import CaptureService
from eventkit.ingest.writer import GroupCommitWriter
from eventkit.metrics import Metrics
from eventkit.storage.apps import create_app
from eventkit.storage.events import EventStore, count_events

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "200"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Text with the characters that break naive code: NUL, surrogate-free unicode, controls.
nasty_text = st.text(
    st.characters(codec="utf-8", categories=None, exclude_categories=["Cs"]), max_size=60
)
json_leaf = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | nasty_text
json_value = st.recursive(
    json_leaf,
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(nasty_text, kids, max_size=4),
    max_leaves=12,
)


def _now_iso(offset_s: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=offset_s)).isoformat()


timestamps = (
    st.floats(min_value=-3600 * 24 * 365 * 30, max_value=7200, allow_nan=False).map(_now_iso)
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=True)
    | nasty_text
    | json_value
)
event_ids = st.uuids().map(str) | nasty_text | st.integers() | st.none()


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    ev: dict[str, Any] = {
        "event_id": draw(event_ids),
        "name": draw(nasty_text | json_leaf),
        "timestamp": draw(timestamps),
    }
    for key in ("user_id", "anonymous_id", "session_id"):
        if draw(st.booleans()):
            ev[key] = draw(nasty_text | json_leaf)
    for key in ("properties", "context"):
        if draw(st.booleans()):
            ev[key] = draw(json_value)
    if draw(st.booleans()):
        ev[draw(nasty_text)] = draw(json_value)  # unknown keys
    return ev


@st.composite
def valid_events(draw: st.DrawFn) -> dict[str, Any]:
    """Events with a good id and time and hostile text everywhere else."""
    ev = draw(events())
    ev["event_id"] = str(draw(st.uuids()))
    ev["timestamp"] = _now_iso(-draw(st.integers(min_value=0, max_value=86400)))
    if not isinstance(ev["name"], str) or not ev["name"]:
        ev["name"] = "x" + str(ev["name"])
    return ev


bodies = (
    st.builds(
        lambda evs, sent: json.dumps({"events": evs, **sent}).encode(),
        st.lists(events() | json_value, max_size=5),
        st.just({}) | st.fixed_dictionaries({"sent_at": timestamps}),
    )
    | json_value.map(lambda v: json.dumps(v).encode())
    | st.binary(max_size=200)
)


@FUZZ
@given(body=bodies)
def test_any_body_gets_verdicts_or_a_clear_400(settings: Settings, body: bytes) -> None:
    service = CaptureService(settings, None, Metrics())  # type: ignore[arg-type]
    try:
        accepted, rejected = service.validate_batch(1, body)
    except InvalidRequestError as exc:
        error = exc
    else:
        error = None
    if error is not None:
        assert error.status_code in (400, 413)
        assert error.message
        return
    assert all(r.errors for r in rejected)
    try:
        n = len(json.loads(body)["events"])
    except (ValueError, KeyError, TypeError):
        return
    assert len(accepted) + len(rejected) == n


@FUZZ
@given(batch=st.lists(valid_events() | events(), min_size=1, max_size=5))
@example(
    batch=[
        {
            "event_id": "0b7b2c1e-6f1a-4c39-9d55-1f6f0f3b6a10",
            "name": "nul\x00name",
            "timestamp": "2026-01-01T00:00:00Z",
            "anonymous_id": "d\x00",
        }
    ]
)
def test_every_accepted_event_is_stored(
    settings: Settings, engine: Engine, batch: list[dict[str, Any]]
) -> None:
    app = create_app(engine, f"fuzz-{uuid.uuid4().hex[:8]}")
    writer = GroupCommitWriter(EventStore(engine), settings.ingest, Metrics())
    service = CaptureService(settings, writer, Metrics())
    try:
        accepted, _ = service.validate_batch(app.app_id, json.dumps({"events": batch}).encode())
    except InvalidRequestError:
        return  # e.g. Infinity: not JSON, a clear 400
    # Accepted means storable: the database never refuses what validation let through
    # (a NUL character, which PostgreSQL cannot store, is refused per event).
    assert EventStore(engine).write(accepted) == [True] * len(accepted)


async def test_a_nul_character_rejects_its_event_and_the_rest_is_stored(
    settings: Settings, engine: Engine
) -> None:
    app = create_app(engine, "nul")
    writer = GroupCommitWriter(EventStore(engine), settings.ingest, Metrics())
    service = CaptureService(settings, writer, Metrics())
    writer.start()
    good = {"name": "ok", "timestamp": "2026-01-01T00:00:00Z", "anonymous_id": "d"}
    batch = [
        {**good, "event_id": str(uuid.uuid4())},
        {**good, "event_id": str(uuid.uuid4()), "anonymous_id": "d\x00"},
        {**good, "event_id": str(uuid.uuid4()), "properties": {"note": "a\x00b"}},
        {**good, "event_id": str(uuid.uuid4())},
    ]
    try:
        result = await service.capture(app.app_id, json.dumps({"events": batch}).encode())
    finally:
        await writer.stop()
    assert result.accepted == 2
    assert [r.index for r in result.rejected] == [1, 2]
    assert all("NUL character" in r.errors[0].message for r in result.rejected)
    assert count_events(engine, [app.app_id]) == 2


def test_absurd_numeric_times_are_rejected_not_a_500(settings: Settings) -> None:
    """Found by the fuzzing above: 1e305 ms overflowed int() (a 500)."""
    service = CaptureService(settings, None, Metrics())  # type: ignore[arg-type]
    event = {"event_id": str(uuid.uuid4()), "name": "x", "anonymous_id": "d"}
    for value in (1.797e305, -1e308, 10**30):
        body = json.dumps({"events": [{**event, "timestamp": value}]})
        accepted, rejected = service.validate_batch(1, body.encode())
        assert accepted == []
        assert rejected[0].errors[0].field.endswith("timestamp")
        # With the same absurd clock in sent_at, skew correction makes ts sane; what is
        # stored still fits a BIGINT.
        body = json.dumps({"sent_at": value, "events": [{**event, "timestamp": value}]})
        accepted, _ = service.validate_batch(1, body.encode())
        for e in accepted:
            assert all(abs(v) < 2**63 for v in (e.timestamp, e.sent_at or 0, e.ts))
