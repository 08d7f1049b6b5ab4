"""Flags end to end: the real OpenFeature SDK and OFREP provider against a real
``eventkit serve``, for every flag type and every error; exposures in the store."""

from __future__ import annotations

import time

import pytest
from openfeature import api
from openfeature.client import OpenFeatureClient
from openfeature.contrib.provider.ofrep import OFREPProvider
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import Reason
from sqlalchemy.engine import Engine

from eventkit.flags.exposure import EXPOSURE_EVENT
from eventkit.flags.spec import Condition, FlagSpec, Rule, Variant, default_variants
from eventkit.flags.store import change_flag, create_flag
from eventkit.storage.apps import resolve_key
from tests.e2e.conftest import ServerProcess, stored

pytestmark = pytest.mark.e2e


def _specs() -> list[FlagSpec]:
    ios = Rule([Condition("platform", "eq", "ios")])
    return [
        FlagSpec(key="bool-flag", enabled=True, variants=default_variants("boolean"), rules=[ios]),
        FlagSpec(
            key="string-flag",
            type="string",
            enabled=True,
            variants=[Variant("control", "blue", 50), Variant("treatment", "green", 50)],
            default_variant="control",
            off_variant="control",
            rules=[Rule()],
        ),
        FlagSpec(
            key="int-flag",
            type="number",
            enabled=True,
            variants=[Variant("small", 3, 1), Variant("big", 10, 0)],
            default_variant="small",
            off_variant="small",
            rules=[Rule([Condition("app_version", "semver_gte", "2.0")], variant="big")],
        ),
        FlagSpec(
            key="float-flag",
            type="number",
            enabled=True,
            variants=[Variant("a", 0.25, 1)],
            default_variant="a",
            off_variant="a",
        ),
        FlagSpec(
            key="json-flag",
            type="json",
            variants=[Variant("on", {"limit": 5}, 1), Variant("off", {"limit": 1}, 0)],
        ),
    ]


@pytest.fixture(scope="module")
def app_id(server: ServerProcess, db: Engine) -> int:
    assert server.write_key
    found = resolve_key(db, server.write_key)
    assert found is not None
    for spec in _specs():
        create_flag(db, found.app_id, spec, actor="test")
    return found.app_id


@pytest.fixture(scope="module")
def client(server: ServerProcess, app_id: int) -> OpenFeatureClient:
    domain = f"eventkit-{server.url}"
    api.set_provider(
        OFREPProvider(
            server.url, headers_factory=lambda: {"Authorization": f"Bearer {server.write_key}"}
        ),
        domain=domain,
    )
    return api.get_client(domain=domain)


def test_every_flag_type(client: OpenFeatureClient) -> None:
    ios = EvaluationContext("user-1", {"platform": "ios", "app_version": "2.1.0"})
    b = client.get_boolean_details("bool-flag", False, ios)
    assert (b.value, b.variant, b.reason) == (True, "on", Reason.TARGETING_MATCH)
    android = client.get_boolean_details("bool-flag", True, EvaluationContext("u", {}))
    assert (android.value, android.reason) == (False, Reason.DEFAULT)
    s = client.get_string_details("string-flag", "none", ios)
    assert s.value in ("blue", "green")
    assert s.reason == Reason.SPLIT
    i = client.get_integer_details("int-flag", 0, ios)
    assert (i.value, i.variant, i.reason, i.flag_metadata) == (
        10,
        "big",
        Reason.TARGETING_MATCH,
        {"rule": 1},
    )
    f = client.get_float_details("float-flag", 0.0, ios)
    assert (f.value, f.reason) == (0.25, Reason.STATIC)
    o = client.get_object_details("json-flag", {}, ios)
    assert (o.value, o.reason) == ({"limit": 1}, Reason.DISABLED)


def test_errors_through_the_sdk(client: OpenFeatureClient, server: ServerProcess) -> None:
    nf = client.get_boolean_details("no-such-flag", True, EvaluationContext("u"))
    assert (nf.value, nf.error_code, nf.reason) == (True, ErrorCode.FLAG_NOT_FOUND, Reason.ERROR)
    tk = client.get_string_details("string-flag", "fallback", EvaluationContext(None, {}))
    assert (tk.value, tk.error_code) == ("fallback", ErrorCode.TARGETING_KEY_MISSING)
    tm = client.get_integer_details("string-flag", 7, EvaluationContext("u"))
    assert (tm.value, tm.error_code) == (7, ErrorCode.TYPE_MISMATCH)
    domain = f"bad-key-{server.url}"
    api.set_provider(
        OFREPProvider(server.url, headers_factory=lambda: {"Authorization": "Bearer nope"}),
        domain=domain,
    )
    general = api.get_client(domain=domain).get_boolean_details("bool-flag", True)
    assert (general.value, general.error_code) == (True, ErrorCode.GENERAL)


def test_protocol_errors_and_bulk_etag(server: ServerProcess, app_id: int) -> None:
    with server.client() as http:
        parse = http.post("/ofrep/v1/evaluate/flags/bool-flag", content=b"{not json")
        assert parse.status_code == 400
        assert parse.json()["errorCode"] == "PARSE_ERROR"
        ctx = http.post("/ofrep/v1/evaluate/flags/bool-flag", json={"context": {"targetingKey": 5}})
        assert (ctx.status_code, ctx.json()["errorCode"]) == (400, "INVALID_CONTEXT")
        bulk = http.post("/ofrep/v1/evaluate/flags", json={"context": {"targetingKey": "u-9"}})
        assert bulk.status_code == 200
        keys = [f["key"] for f in bulk.json()["flags"]]
        assert keys == ["bool-flag", "float-flag", "int-flag", "json-flag", "string-flag"]
        etag = bulk.headers["etag"]
        same = http.post(
            "/ofrep/v1/evaluate/flags",
            json={"context": {"targetingKey": "u-9"}},
            headers={"If-None-Match": etag},
        )
        assert same.status_code == 304


def test_a_change_reaches_the_server_within_seconds(
    server: ServerProcess, db: Engine, app_id: int
) -> None:
    def enable(s: FlagSpec) -> FlagSpec:
        s.enabled = True
        return s

    body = {"context": {"targetingKey": "u-1"}}
    with server.client() as http:
        assert http.post("/ofrep/v1/evaluate/flags/json-flag", json=body).json()["value"] == {
            "limit": 1
        }
        change_flag(db, app_id, "json-flag", enable, action="enable", summary="", actor="t")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            r = http.post("/ofrep/v1/evaluate/flags/json-flag", json=body).json()
            if r["value"] == {"limit": 5}:
                break
            time.sleep(0.2)
        assert r["reason"] == "STATIC"


def test_exposures_are_stored_and_deduplicated(
    server: ServerProcess, db: Engine, app_id: int
) -> None:
    with server.client() as http:
        for _ in range(3):
            r = http.post(
                "/v1/flags/evaluate",
                json={
                    "user_id": "exposed-1",
                    "context": {"platform": "ios"},
                    "flags": ["bool-flag"],
                },
            )
            assert r.status_code == 200
    deadline = time.monotonic() + 5
    rows: list[object] = []
    while time.monotonic() < deadline:
        rows = stored(db, app_id=app_id, name=EXPOSURE_EVENT, user_id="exposed-1")
        if rows:
            break
        time.sleep(0.1)
    time.sleep(0.3)
    rows = stored(db, app_id=app_id, name=EXPOSURE_EVENT, user_id="exposed-1")
    assert len(rows) == 1
    assert rows[0].properties == {  # type: ignore[attr-defined]
        "$feature_flag": "bool-flag",
        "$feature_flag_variant": "on",
        "$feature_flag_reason": "TARGETING_MATCH",
    }
    # A client may not forge exposures.
    with server.client() as http:
        sent = http.post(
            "/v1/events",
            json={
                "events": [
                    {
                        "event_id": "6f1c1b1e-0000-4000-8000-000000000001",
                        "name": EXPOSURE_EVENT,
                        "timestamp": 1_700_000_000_000,
                    }
                ]
            },
        )
    assert sent.json()["rejected"][0]["errors"][0]["message"].endswith(
        "use POST /v1/flags/evaluate instead"
    )
