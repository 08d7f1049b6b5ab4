"""Secrets never reach the logs: a real server at debug level with access logging,
called with good, bad and wrong-kind keys and failing requests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.e2e.conftest import ServerProcess, event

pytestmark = pytest.mark.e2e


def test_keys_and_database_password_are_not_logged(
    start_server: Callable[..., ServerProcess],
) -> None:
    srv = start_server(
        {
            "EVENTKIT_LOG__LEVEL": "debug",
            "EVENTKIT_LOG__ACCESS_LOG": "true",
            "EVENTKIT_SERVER__SERVER": "uvicorn",
        }
    )
    assert srv.write_key and srv.secret_key
    bad = "ek_write_NotARealKeyButSecretLooking123"
    with srv.client() as w, srv.client("secret") as s, srv.client(None) as anon:
        assert w.post("/v1/events", json={"events": [event()]}).status_code == 200
        assert w.post("/v1/events", json={"events": [event(name="")]}).status_code == 400
        assert w.get("/v1/events").status_code == 403
        assert s.get("/v1/events").status_code == 200
        headers = {"Authorization": f"Bearer {bad}"}
        assert anon.post("/v1/events", json={"events": []}, headers=headers).status_code == 401
        assert anon.get("/v1/events", headers={"X-Eventkit-Key": bad}).status_code == 401
    srv.terminate()
    logs = srv.stderr
    assert "GET /v1/events" in logs or "/v1/events" in logs  # access lines were written
    for secret in (srv.write_key, srv.secret_key, bad):
        assert secret not in logs
        assert secret[9:] not in logs  # nor the random part alone
