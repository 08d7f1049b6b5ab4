"""A real ``eventkit serve``: its scheduler runs the rollup job, and reports over HTTP
see every acknowledged event, late ones included."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from eventkit.aggregation import watermark
from eventkit.storage.events import last_event_id
from tests.e2e.conftest import ServerProcess, event, iso


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    # Run the job every half second; fold events in at once on PostgreSQL too.
    return {
        "EVENTKIT_AGGREGATION__INTERVAL_SECONDS": "0.5",
        "EVENTKIT_AGGREGATION__SETTLE_SECONDS": "0",
    }


def _wait_rolled_up(server: ServerProcess, timeout: float = 20.0) -> None:
    engine = server.engine()
    try:
        deadline = time.monotonic() + timeout
        while watermark(engine) < last_event_id(engine):
            if time.monotonic() > deadline:
                pytest.fail(f"the rollup job did not catch up\n{server.output()}")
            time.sleep(0.2)
    finally:
        engine.dispose()


def test_scheduled_rollups_and_reports_over_http(server: ServerProcess, http: httpx.Client) -> None:
    now = datetime.now(UTC)
    batch = [event(name="signup_completed", user_id="e2e-a", anonymous_id=...),
             event(name="purchase_completed", user_id="e2e-a", anonymous_id=...),
             event(name="signup_completed", user_id="e2e-b", anonymous_id=...)]  # fmt: skip
    assert http.post("/v1/events", json={"events": batch}).status_code == 200
    _wait_rolled_up(server)
    late = event(name="signup_completed", user_id="e2e-c", anonymous_id=...,
                 timestamp=iso(now - timedelta(days=3)))  # fmt: skip
    assert http.post("/v1/events", json={"events": [late]}).status_code == 200
    with server.client("secret") as reader:
        resp = reader.get(
            "/v1/reports/funnel",
            params={"steps": ["signup_completed", "purchase_completed"], "since": "7d"},
        )
        assert resp.status_code == 200, resp.text
        assert [r["users"] for r in resp.json()["rows"]] == [3, 1]  # late one included
        _wait_rolled_up(server)  # the job folds the late event into its old day
        trends = reader.get(
            "/v1/reports/trends", params={"event": "signup_completed", "since": "7d"}
        ).json()
        assert trends["meta"]["total"] == 3
        day = (now - timedelta(days=3)).date().isoformat()
        assert {r["bucket"]: r["count"] for r in trends["rows"]}[day] == 1
        assert reader.get("/v1/reports/top").status_code == 200
    with server.client("write") as writer:
        assert writer.get("/v1/reports/top").status_code == 403
