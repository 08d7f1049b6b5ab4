"""Property: however events arrive (order, batches, job runs in between), the stored
sessions equal a simple from-scratch sessionization of the sorted stream."""

from __future__ import annotations

import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select
from sqlalchemy.engine import Engine

from eventkit.capture.schema import CanonicalEvent
from eventkit.sessions.job import sessionize_pending
from eventkit.storage.apps import create_app
from eventkit.storage.models import (
    APPS,
    EVENT_KEYS,
    EVENT_SESSIONS,
    EVENTS,
    SESSION_STATE,
    SESSIONS,
)
from tests.conftest import make_settings
from tests.sessions.helpers import MIN, T0, ev, store

LATER = T0 + 100 * 24 * 60 * MIN

GAP = 30 * MIN
MAX_LEN = 120 * MIN
NAMES = ["tap", "tap", "tap", "$screen", "$session_start", "$session_end"]

event_spec = st.tuples(
    st.sampled_from(["d1", "d2", "d3"]),
    st.integers(min_value=0, max_value=600),  # minute
    st.sampled_from(NAMES),
    st.sampled_from([None, None, None, "s1", "s2"]),  # client session id
)


def reference(events: list[CanonicalEvent]) -> set[tuple[Any, ...]]:
    """Sessions of sorted per-device streams, written out in the plainest way."""
    out: set[tuple[Any, ...]] = set()
    devices = {e.anonymous_id for e in events}
    for dev in devices:
        mine = sorted(
            (e for e in events if e.anonymous_id == dev), key=lambda e: (e.ts, e.event_id.bytes)
        )
        for sid in {e.session_id for e in mine if e.session_id}:
            group = [e for e in mine if e.session_id == sid]
            out.add((dev, sid, tuple(str(e.event_id) for e in group)))
        current: list[CanonicalEvent] = []
        for e in (e for e in mine if not e.session_id):
            if current and (
                e.ts - current[-1].ts > GAP
                or e.ts - current[0].ts >= MAX_LEN
                or e.name == "$session_start"
                or current[-1].name == "$session_end"
            ):
                out.add((dev, None, tuple(str(x.event_id) for x in current)))
                current = []
            current.append(e)
        if current:
            out.add((dev, None, tuple(str(x.event_id) for x in current)))
    return out


def stored(engine: Engine) -> set[tuple[Any, ...]]:
    with engine.connect() as conn:
        sessions = {
            r.id: (r.device_key, r.client_session_id, r.event_count)
            for r in conn.execute(select(SESSIONS))
        }
        members: dict[str, list[tuple[int, bytes, str]]] = {}
        rows = conn.execute(
            select(EVENT_SESSIONS.c.session_id, EVENTS.c.ts, EVENTS.c.event_id).join(
                EVENTS, EVENTS.c.id == EVENT_SESSIONS.c.event_pk
            )
        )
        for sid, ts, eid in rows:
            members.setdefault(sid, []).append((ts, eid.bytes, str(eid)))
    out = set()
    for sid, (dev, csid, count) in sessions.items():
        ids = tuple(x[2] for x in sorted(members.get(sid, [])))
        assert len(ids) == count, "event_count disagrees with the event mapping"
        out.add((dev, csid, ids))
    assert set(members) <= set(sessions), "events mapped to a session that is not stored"
    return out


def _wipe(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in (SESSIONS, EVENT_SESSIONS, SESSION_STATE, EVENTS, EVENT_KEYS):
            conn.execute(delete(table))


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    specs=st.lists(event_spec, min_size=1, max_size=40),
    data=st.data(),
)
def test_incremental_equals_from_scratch(
    engine: Engine, database_url: str, specs: list[tuple[Any, ...]], data: st.DataObject
) -> None:
    cfg = make_settings(database_url, SESSIONS__MAX_LENGTH_HOURS="2", SESSIONS__BATCH_EVENTS="7")
    _wipe(engine)
    app_id = _app(engine)
    events = [
        ev(app_id, minute, name=name, device=dev, session=sid, event_id=uuid.uuid4())
        for dev, minute, name, sid in specs
    ]
    arrival = data.draw(st.permutations(events), label="arrival order")
    cuts = sorted(data.draw(st.sets(st.integers(1, max(1, len(arrival) - 1))), label="batches"))
    start = 0
    for end in [*cuts, len(arrival)]:
        if end > start:
            store(engine, arrival[start:end])
            if data.draw(st.booleans(), label="run the job now"):
                sessionize_pending(engine, cfg, now=LATER)
            start = end
    sessionize_pending(engine, cfg, now=LATER)
    assert stored(engine) == reference(events)


def _app(engine: Engine) -> int:
    """The test app (created by the first example on this database)."""
    with engine.connect() as conn:
        found = conn.execute(select(APPS.c.id).where(APPS.c.name == "prop")).scalar()
    return int(found) if found is not None else create_app(engine, "prop").app_id
