"""API keys over real HTTP: where a key may be sent, which keys capture, error bodies."""

from __future__ import annotations

import base64
import uuid

import httpx
import pytest
from sqlalchemy.engine import Engine

from eventkit.storage.apps import create_app, resolve_key, rotate_key
from tests.e2e.conftest import ServerProcess, event, stored, stored_ids

pytestmark = pytest.mark.e2e


def post(
    server: ServerProcess, headers: dict[str, str], path: str = "/v1/events"
) -> tuple[httpx.Response, dict[str, object]]:
    ev = event()
    body = {"events": [ev]} if path == "/v1/events" else {"user_id": f"u-{uuid.uuid4().hex}"}
    resp = httpx.post(f"{server.url}{path}", json=body, headers=headers, timeout=30)
    return resp, ev


def assert_401(resp: httpx.Response, fragment: str) -> None:
    assert resp.status_code == 401, resp.text
    body = resp.json()
    assert set(body) == {"status", "error", "message"}
    assert (body["status"], body["error"]) == (401, "unauthorized")
    assert fragment in body["message"]


@pytest.mark.parametrize("path", ["/v1/events", "/v1/identify"])
def test_no_key_is_401_saying_how_to_send_one(path: str, server: ServerProcess, db: Engine) -> None:
    resp, ev = post(server, {}, path)
    assert_401(resp, "missing API key")
    assert "Authorization: Bearer" in resp.json()["message"]
    assert stored(db, anonymous_id=ev["anonymous_id"]) == []


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer ek_write_thisKeyWasNeverIssued000000000"},
        {"X-Eventkit-Key": "ek_secret_thisKeyWasNeverIssued00000000"},
        {"Authorization": "Bearer not-even-a-key"},
    ],
    ids=["unknown write key", "unknown secret key", "garbage"],
)
def test_wrong_key_is_401(headers: dict[str, str], server: ServerProcess, db: Engine) -> None:
    resp, ev = post(server, headers)
    assert_401(resp, "unknown or revoked API key")
    assert stored(db, anonymous_id=ev["anonymous_id"]) == []


@pytest.mark.parametrize("value", ["Bearer", "bearer", "Token ek_write_abc"])
def test_empty_or_unsupported_authorization_is_401(value: str, server: ServerProcess) -> None:
    resp, _ = post(server, {"Authorization": value})
    assert_401(resp, "missing API key")


@pytest.mark.parametrize("how", ["bearer", "x-eventkit-key", "basic", "secret-key"])
def test_key_is_accepted_from_each_documented_place(
    how: str, server: ServerProcess, db: Engine
) -> None:
    assert server.write_key
    assert server.secret_key
    headers = {
        "bearer": {"Authorization": f"Bearer {server.write_key}"},
        "x-eventkit-key": {"X-Eventkit-Key": server.write_key},
        "basic": {
            "Authorization": "Basic " + base64.b64encode(f"{server.write_key}:".encode()).decode()
        },
        "secret-key": {"Authorization": f"Bearer {server.secret_key}"},
    }[how]
    resp, ev = post(server, headers)
    assert resp.status_code == 200, resp.text
    assert resp.json()["accepted"] == 1
    assert stored_ids(db, anonymous_id=ev["anonymous_id"]) == [ev["event_id"]]


def test_events_are_stored_under_the_app_of_the_key(server: ServerProcess, db: Engine) -> None:
    other = create_app(db, f"other-{uuid.uuid4().hex[:8]}")
    assert other.write_key
    resp, ev = post(server, {"X-Eventkit-Key": other.write_key})
    assert resp.status_code == 200, resp.text
    [row] = stored(db, anonymous_id=ev["anonymous_id"])
    assert row.app_id == other.app_id
    assert server.write_key
    default = resolve_key(db, server.write_key)
    assert default is not None
    assert default.app_id != other.app_id


def test_a_revoked_key_is_401_and_its_replacement_works(server: ServerProcess, db: Engine) -> None:
    app = create_app(db, f"rot-{uuid.uuid4().hex[:8]}")
    rotated = rotate_key(db, app.app_name, "write")
    assert app.write_key
    assert rotated.write_key
    resp, _ = post(server, {"Authorization": f"Bearer {app.write_key}"})
    assert_401(resp, "unknown or revoked API key")
    resp, ev = post(server, {"Authorization": f"Bearer {rotated.write_key}"})
    assert resp.status_code == 200, resp.text
    assert stored(db, anonymous_id=ev["anonymous_id"])[0].app_id == app.app_id
