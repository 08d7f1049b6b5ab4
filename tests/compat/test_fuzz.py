"""Hypothesis: no compat decoder or route crashes or answers 5xx on arbitrary JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient
from sqlalchemy.engine import Engine

from eventkit.compat import amplitude, mixpanel, posthog, segment
from eventkit.compat.common import finish
from eventkit.config import LimitSettings, Settings
from eventkit.errors import InvalidRequestError
from eventkit.storage.apps import create_app as create_tracked_app
from eventkit.timeutil import now_us

FIELDS = [
    # Segment
    "type",
    "event",
    "userId",
    "anonymousId",
    "messageId",
    "timestamp",
    "originalTimestamp",
    "sentAt",
    "properties",
    "traits",
    "context",
    "batch",
    "groupId",
    "previousId",
    "name",
    # PostHog
    "distinct_id",
    "uuid",
    "offset",
    "$set",
    "$set_once",
    "$device_id",
    "$anon_distinct_id",
    "$is_identified",
    "alias",
    "api_key",
    "token",
    "sent_at",
    "options",
    # Amplitude
    "event_type",
    "user_id",
    "device_id",
    "time",
    "insert_id",
    "session_id",
    "event_properties",
    "user_properties",
    "events",
    "os_name",
    "app_version",
    "country",
    "language",
    # Mixpanel
    "$insert_id",
    "$user_id",
    "$identified_id",
    "$anon_id",
    "$distinct_id",
    "$token",
    "$group_key",
    "$group_id",
    "$time",
    "$os",
]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(["2026-01-01T00:00:00Z", "user-123456", "$identify", "track", "identify"])
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), children, max_size=6)
    ),
    max_leaves=25,
)
LIMITS = LimitSettings()


def _finish(items: list[Any]) -> None:
    finish(
        items,
        app_id=1,
        source="fuzz",
        received_at=now_us(),
        sent_at=None,
        limits=LIMITS,
        ip="203.0.113.9",
        prefix="batch",
    )


@given(json_values)
@settings(max_examples=300, deadline=None)
def test_decoders_never_crash(payload: Any) -> None:
    for kind in (None, "track", "identify", "alias", "group"):
        try:
            msgs, ctx, _ = segment.batch_messages(payload) if kind is None else ([payload], {}, 0)
        except InvalidRequestError:
            continue
        _finish([segment.draft(m, kind, ctx) for m in msgs])
    try:
        events, _, _ = posthog.batch_of(payload)
        _finish([posthog.draft(e, now_us()) for e in events])
    except InvalidRequestError:
        pass
    posthog.evaluation_context(payload if isinstance(payload, dict) else {})
    try:
        _, events, min_len = amplitude.events_of(payload)
        problems = amplitude.Problems()
        _finish([amplitude.draft(i, e, min_len, problems) for i, e in enumerate(events)])
        problems.body()
    except InvalidRequestError:
        pass
    for m in payload if isinstance(payload, list) else [payload]:
        _finish([mixpanel.event_draft(m), mixpanel.profile_draft(m), mixpanel.group_draft(m)])


PATHS = [
    "/segment/v1/batch",
    "/segment/v1/t",
    "/segment/v1/identify",
    "/posthog/batch/",
    "/posthog/e/",
    "/posthog/i/v1/analytics/events",
    "/posthog/flags/?v=4",
    "/amplitude/2/httpapi",
    "/mixpanel/track?verbose=1",
    "/mixpanel/engage",
    "/mixpanel/groups",
    "/mixpanel/import",
]


@pytest.fixture
def sync_client(settings: Settings, engine: Engine) -> Any:
    """A sync client (hypothesis drives examples synchronously) with a write key."""
    keys = create_tracked_app(engine, "fuzz")
    off = settings.model_copy(
        update={"scheduler": settings.scheduler.model_copy(update={"enabled": False})}
    )
    from eventkit.api.app import create_app

    with TestClient(app=create_app(off)) as client:
        client.headers["Authorization"] = f"Bearer {keys.write_key}"
        yield client


@given(path=st.sampled_from(PATHS), payload=json_values)
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_routes_never_answer_5xx(sync_client: Any, path: str, payload: Any) -> None:
    r = sync_client.post(path, content=json.dumps(payload), headers={"Content-Type": "text/plain"})
    assert r.status_code < 500, (path, payload, r.text)
