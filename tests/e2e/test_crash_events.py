"""Crash and error events end to end: the real posthog-python ``capture_exception``, the
Segment and Mixpanel clients sending their crash events, and native ``$crash`` events,
into ``eventkit serve``; release health counts them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from mixpanel import Consumer, Mixpanel
from posthog import Posthog
from segment.analytics import Client
from sqlalchemy.engine import Engine

from tests.e2e.conftest import ServerProcess, stored

pytestmark = pytest.mark.e2e


def _now() -> str:
    return datetime.now(UTC).isoformat()


def test_vendor_crash_events_are_stored_as_crash_and_error(
    server: ServerProcess, db: Engine
) -> None:
    assert server.write_key
    errors: list[Any] = []
    ph = Posthog(server.write_key, host=f"{server.url}/posthog",
                 on_error=lambda e, batch: errors.append(e))  # fmt: skip
    try:
        raise ValueError("feed was empty")
    except ValueError as exc:
        ph.capture_exception(exc, distinct_id="crash-ph-user")
    ph.flush()
    ph.shutdown()
    seg = Client(server.write_key, host=f"{server.url}/segment",
                 on_error=lambda e, batch: errors.append(e), max_retries=1)  # fmt: skip
    seg.track("crash-seg-user", "Application Crashed", {"reason": "OOM"})
    seg.flush()
    base = f"{server.url}/mixpanel"
    mp = Mixpanel(server.write_key, consumer=Consumer(events_url=f"{base}/track"))
    mp.track("crash-mp-user", "$ae_crashed",
             {"$ae_crashed_reason": "java.lang.IllegalStateException: boom"})  # fmt: skip
    assert errors == []
    [ph_row] = stored(db, user_id="crash-ph-user")
    assert ph_row.name == "$error"  # captured and handled: level "error"
    props = ph_row.properties
    assert (props["type"], props["message"], props["fatal"]) == ("ValueError", "feed was empty",
                                                                 False)  # fmt: skip
    assert props["$source_event"] == "$exception" and len(props["stack_hash"]) == 16
    assert props["$exception_list"][0]["type"] == "ValueError"  # the vendor's data is kept
    [seg_row] = stored(db, user_id="crash-seg-user", name="$crash")
    assert seg_row.properties["fatal"] is True and seg_row.properties["reason"] == "OOM"
    [mp_row] = stored(db, user_id="crash-mp-user")
    assert mp_row.name == "$crash"
    assert mp_row.properties["type"] == "java.lang.IllegalStateException"
    assert mp_row.properties["message"] == "boom"


def test_native_crash_fields_are_checked(server: ServerProcess, db: Engine) -> None:
    def event(name: str, **props: object) -> dict[str, Any]:
        return {"event_id": str(uuid.uuid4()), "name": name, "timestamp": _now(),
                "anonymous_id": "crash-native-dev", "properties": props,
                "context": {"app": {"version": "9.1"}, "os": {"name": "iOS"}}}  # fmt: skip

    body = {"events": [
        event("$crash", type="SIGSEGV", stack_hash="abc"),
        event("$error", type="Timeout", fatal="yes"),
        event("$crash", message=["not", "text"]),
    ]}  # fmt: skip
    r = httpx.post(f"{server.url}/v1/events", json=body, timeout=10,
                   headers={"Authorization": f"Bearer {server.write_key}"})  # fmt: skip
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["accepted"] == 1
    reasons = {f["field"]: f["message"] for x in result["rejected"] for f in x["errors"]}
    assert reasons["events[1].properties.fatal"] == "must be true or false"
    assert reasons["events[2].properties.message"] == "must be a string"
    [row] = stored(db, anonymous_id="crash-native-dev")
    assert (row.name, row.app_version, row.platform) == ("$crash", "9.1", "ios")
