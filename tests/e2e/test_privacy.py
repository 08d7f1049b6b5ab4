"""Tracking plans and privacy against a real ``eventkit serve`` (writer process, real
TCP peer address): settings changed from the CLI apply to the running server without
a restart, enforce mode answers per-event errors, and an erased user's late events
are acknowledged and never stored."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from tests.e2e.conftest import ServerProcess, event

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    # Caches checked on every batch and counts written before answering: no waiting.
    return {
        "EVENTKIT_TRACKING__REFRESH_SECONDS": "0",
        "EVENTKIT_TRACKING__FLUSH_SECONDS": "0",
        "EVENTKIT_PRIVACY__REFRESH_SECONDS": "0",
        "EVENTKIT_PRIVACY__PROPAGATION_SECONDS": "0",
    }


def cli(server: ServerProcess, *args: str, stdin: str | None = None) -> Any:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTKIT_")}
    env.update(EVENTKIT_DATABASE_URL=server.database_url, EVENTKIT_LOAD_PLUGINS="0")
    out = subprocess.run(
        [sys.executable, "-m", "eventkit", *args, "--format", "json"],
        env=env, input=stdin, capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout) if out.stdout.strip().startswith(("{", "[")) else out.stdout


def ips(db: Engine, name: str) -> list[str | None]:
    with db.connect() as conn:
        return list(
            conn.execute(
                text("SELECT ip FROM events WHERE name = :n ORDER BY id"), {"n": name}
            ).scalars()
        )


def test_ip_policy_changes_apply_to_the_running_server(server: ServerProcess, db: Engine) -> None:
    with server.client() as http:
        for policy in ("anonymize", "keep", "drop"):
            cli(server, "apps", "set", "default", "--ip", policy)
            r = http.post("/v1/events", json={"events": [event(name="ip_probe")]})
            assert r.json()["accepted"] == 1, r.text
    assert ips(db, "ip_probe") == ["127.0.0.0", "127.0.0.1", None]
    cli(server, "apps", "set", "default", "--ip", "anonymize")


def test_enforce_mode_and_violations(server: ServerProcess) -> None:
    plan = "events:\n  checkout:\n    schema: {type: object, required: [total]}\n"
    cli(server, "schema", "push", "-", stdin=plan)
    cli(server, "apps", "set", "default", "--plan-mode", "enforce")
    try:
        with server.client() as http:
            r = http.post(
                "/v1/events",
                json={"events": [event(name="checkout", properties={"total": 3}),
                                 event(name="checkout", properties={}),
                                 event(name="$screen")]},
            )  # fmt: skip
        body = r.json()
        assert body["accepted"] == 2
        assert body["rejected"][0]["index"] == 1
        assert body["rejected"][0]["errors"] == [
            {"field": "events[1].properties.total", "message": "is required by the tracking plan"}
        ]
        rows = cli(server, "schema", "violations")
        assert [(v["event"], v["kind"], v["count"]) for v in rows] == [
            ("checkout", "missing_property", 1)
        ]
    finally:
        cli(server, "apps", "set", "default", "--plan-mode", "off")


def test_erased_users_late_events_are_dropped(server: ServerProcess, db: Engine) -> None:
    with server.client() as http:
        r = http.post(
            "/v1/events",
            json={"events": [event(name="e2e_erase", user_id="gone-1", anonymous_id="gone-dev")]},
        )
        assert r.json()["accepted"] == 1
    with server.client("secret") as admin:
        r = admin.delete("/v1/users/gone-1")
        assert r.status_code == 200, r.text
        assert r.json()["deleted"]["events"] == 1
    with server.client() as http:
        late = [
            event(name="e2e_erase", user_id="gone-1"),
            event(name="e2e_erase", anonymous_id="gone-dev"),
            event(name="e2e_erase", user_id="kept-1"),
        ]
        r = http.post("/v1/events", json={"events": late})
        assert r.json() == {"accepted": 3, "duplicates": 0, "rejected": [],
                            "duplicate_event_ids": []}  # fmt: skip
    with db.connect() as conn:
        users = conn.execute(text("SELECT user_id FROM events WHERE name = 'e2e_erase'")).scalars()
        assert list(users) == ["kept-1"]
