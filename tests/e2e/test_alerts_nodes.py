"""Exactly once across nodes: two `eventkit serve` processes on one PostgreSQL database,
one alert rule that fires, one message; the node leading the alerts job is killed and
the other takes over without sending it again."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import pytest
from sqlalchemy import text

from eventkit.storage.apps import get_app
from eventkit.storage.engine import make_engine
from eventkit.storage.events import EventStore
from eventkit.timeutil import US_PER_HOUR, now_us
from tests.alerts.conftest import spread
from tests.conftest import fresh_database, make_settings
from tests.e2e.conftest import launch
from tests.plugins.receiver import Receiver, receiver

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

JOB = "alerts.evaluate"
FAST = {
    "EVENTKIT_ALERTS__INTERVAL_SECONDS": "0.5",
    "EVENTKIT_ALERTS__SETTLE_SECONDS": "0",
    "EVENTKIT_SESSIONS__SUBPROCESS": "false",
    "EVENTKIT_LOG__LEVEL": "info",
}


@pytest.fixture
def pg_url(tmp_path: Path) -> Iterator[str]:
    with fresh_database("postgres", tmp_path) as url:
        yield url


@pytest.fixture
def hook() -> Iterator[Receiver]:
    with receiver() as r:
        yield r


def test_two_nodes_one_alert_one_message(pg_url: str, tmp_path: Path, hook: Receiver) -> None:
    a = launch(pg_url, tmp_path / "a", FAST)
    b = None
    engine = make_engine(make_settings(pg_url))
    try:
        assert a.secret_key
        app_id = get_app(engine, "default", count_events=False).id
        now = now_us()
        hour = now - now % US_PER_HOUR - US_PER_HOUR  # the last complete hour
        events = [
            msgspec.structs.replace(e, app_id=app_id)
            for e in spread("payment_failed", hour, US_PER_HOUR, 30)
        ]
        EventStore(engine).write(events)
        b = launch(pg_url, tmp_path / "b", FAST)
        rule = {"name": "payments", "interval": "hour",
                "metric": {"kind": "events", "event": "payment_failed"},
                "condition": {"kind": "above", "threshold": 10},
                "destinations": [{"type": "webhook", "to": hook.url, "secret": "k"}]}  # fmt: skip
        r = httpx.post(f"{a.url}/v1/alerts", json=rule, timeout=10,
                       headers={"Authorization": f"Bearer {a.secret_key}"})  # fmt: skip
        assert r.status_code == 201, r.text
        deadline = time.monotonic() + 30
        while not hook.requests:
            assert time.monotonic() < deadline, f"no message\n{a.output()}\n{b.output()}"
            time.sleep(0.1)
        # Kill the leader once the delivery is committed: a kill between the webhook's
        # answer and that commit leaves it pending, to be sent again (at least once).
        while True:
            with engine.connect() as conn:
                status = conn.execute(text("SELECT status FROM alert_deliveries")).scalars().all()
            if status == ["delivered"]:
                break
            assert time.monotonic() < deadline, f"not marked delivered: {status}"
            time.sleep(0.1)
        leader, other = (a, b) if f"now runs the job {JOB}" in a.stderr else (b, a)
        os.killpg(leader.process.pid, signal.SIGKILL)  # the server and its workers
        leader.process.wait(10)
        deadline = time.monotonic() + 30
        while f"now runs the job {JOB}" not in other.stderr:
            assert time.monotonic() < deadline, f"no failover\n{other.output()}"
            time.sleep(0.2)
        time.sleep(3)  # several runs of the new leader
        assert len(hook.requests) == 1
        assert hook.bodies()[0]["type"] == "alert.fired" and hook.bodies()[0]["value"] == 30
        with engine.connect() as conn:
            runs = conn.execute(
                text("SELECT bucket, outcome FROM alert_runs ORDER BY bucket")
            ).all()
            sent = conn.execute(
                text("SELECT status, COUNT(*) FROM alert_deliveries GROUP BY status")
            ).all()
        assert [tuple(x) for x in runs] == [(hour, "fired")]
        assert [tuple(x) for x in sent] == [("delivered", 1)]
    finally:
        engine.dispose()
        for srv in (a, b):
            if srv is not None and srv.process.poll() is None:
                srv.terminate()
