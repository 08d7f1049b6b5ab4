"""Operations endpoints over real HTTP: health, readiness, metrics, OpenAPI, 404/405."""

from __future__ import annotations

import uuid

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from eventkit import __version__
from tests.e2e.conftest import ServerProcess, event

pytestmark = pytest.mark.e2e


def metrics(http: httpx.Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    resp = http.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(resp.text)
        for s in family.samples
    }


def test_healthz(http: httpx.Client) -> None:
    resp = http.get("/healthz")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok", "version": __version__}


def test_readyz_reports_its_checks(http: httpx.Client) -> None:
    resp = http.get("/readyz")
    assert resp.status_code == 200
    body = resp.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["writer_queue_events"] == 0


def test_health_endpoints_need_no_key(server: ServerProcess) -> None:
    with server.client(key=None) as anonymous:
        assert anonymous.get("/healthz").status_code == 200
        assert anonymous.get("/readyz").status_code == 200
        assert anonymous.get("/metrics").status_code == 200


def test_metrics_count_what_was_sent(http: httpx.Client) -> None:
    native = (("source", "native"),)
    ok = (("route", "/v1/events"), ("status", "200"))
    bad = (("route", "/v1/events"), ("status", "400"))
    before = metrics(http)
    batch = {"events": [event(), event(), event(), event(name="")]}
    assert http.post("/v1/events", json=batch).status_code == 200
    assert http.post("/v1/events", json=batch).status_code == 200  # a retry
    assert http.post("/v1/events", content=b"{").status_code == 400
    after = metrics(http)

    def delta(name: str, labels: tuple[tuple[str, str], ...]) -> float:
        return after.get((name, labels), 0.0) - before.get((name, labels), 0.0)

    assert delta("eventkit_events_accepted_total", native) == 3
    assert delta("eventkit_events_duplicate_total", native) == 3
    assert delta("eventkit_events_rejected_total", native) == 2
    assert delta("eventkit_http_requests_total", ok) == 2
    assert delta("eventkit_http_requests_total", bad) == 1
    assert delta("eventkit_http_request_seconds_count", (("route", "/v1/events"),)) == 3
    assert delta("eventkit_commit_events_count", ()) >= 1
    assert after[("eventkit_writer_queue_events", ())] == 0


def test_openapi_schema_lists_the_capture_endpoints(http: httpx.Client) -> None:
    resp = http.get("/schema/openapi.json")
    assert resp.status_code == 200
    schema = resp.json()
    assert schema["info"]["title"] == "eventkit"
    assert {"/v1/events", "/v1/identify", "/healthz", "/readyz", "/metrics"} <= set(schema["paths"])
    assert "post" in schema["paths"]["/v1/events"]
    assert "post" in schema["paths"]["/v1/identify"]


def test_unknown_path_is_404_in_the_error_shape(http: httpx.Client) -> None:
    resp = http.get("/v1/nothing-here")
    assert resp.status_code == 404
    assert resp.headers["content-type"].startswith("application/json")
    assert resp.json() == {
        "status": 404,
        "error": "not_found",
        "message": "no such endpoint; see /schema for the API",
    }


def test_wrong_method_is_405_in_the_error_shape(http: httpx.Client) -> None:
    resp = http.delete("/healthz")
    assert resp.status_code == 405
    body = resp.json()
    assert (body["status"], body["error"]) == (405, "method_not_allowed")
    assert "/schema" in body["message"]


def test_metrics_count_identify_calls(http: httpx.Client) -> None:
    native = (("source", "native"),)
    before = metrics(http)
    body = {"event_id": str(uuid.uuid4()), "user_id": "u-metrics", "set": {"plan": "pro"}}
    assert http.post("/v1/identify", json=body).status_code == 200
    assert http.post("/v1/identify", json=body).json()["duplicate"] is True  # a retry
    refused = http.post("/v1/identify", json={"user_id": "u\x00", "set": {"plan": "pro"}})
    assert refused.status_code == 400
    assert "NUL character" in refused.text
    after = metrics(http)

    def delta(name: str) -> float:
        return after.get((name, native), 0.0) - before.get((name, native), 0.0)

    assert delta("eventkit_events_accepted_total") == 1
    assert delta("eventkit_events_duplicate_total") == 1
    assert delta("eventkit_events_rejected_total") == 1
