"""Sinks: only newly stored events, after commit, off the request path, isolated."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from eventkit.config import Settings
from eventkit.ingest.runtime import Runtime
from eventkit.plugins.stats import stats
from eventkit.storage.apps import create_app as create_tracked_app
from tests.conftest import make_settings
from tests.inprocess import api_client, bearer
from tests.plugins.conftest import Use
from tests.plugins.fixtures import sink
from tests.plugins.helpers import batch, metric


@pytest.fixture(autouse=True)
def _reset_sink() -> Iterator[None]:
    sink.reset()
    yield
    sink.reset()


def _sinks(client: object) -> object:
    runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    return runtime.capture.sinks


async def test_sink_gets_only_new_events_after_commit(
    settings: Settings, engine: Engine, use_plugins: Use
) -> None:
    use_plugins(sink)
    keys = create_tracked_app(engine, "sunk")
    first = batch("a", "b")
    async with api_client(settings) as client:
        r = await client.post("/v1/events", json=first, headers=bearer(keys.write_key))
        assert r.json()["accepted"] == 2
        retry = batch("c")
        retry["events"] = first["events"] + retry["events"]  # a retry plus one new event
        r = await client.post("/v1/events", json=retry, headers=bearer(keys.write_key))
        assert r.json() | {"duplicate_event_ids": []} == {
            "accepted": 1, "duplicates": 2, "rejected": [], "duplicate_event_ids": []
        }  # fmt: skip
        _sinks(client).flush()  # type: ignore[attr-defined]
        metrics = (await client.get("/metrics")).text
    assert [[e.name for e in b] for b in sink.received] == [["a", "b"], ["c"]]
    assert str(sink.received[1][0].event_id) == retry["events"][2]["event_id"]
    assert metric(metrics, "eventkit_plugin_sink_events_total", plugin="sink",
                  outcome="delivered") == 3  # fmt: skip


async def test_a_failing_sink_never_fails_capture(
    settings: Settings, engine: Engine, use_plugins: Use
) -> None:
    use_plugins(sink)
    keys = create_tracked_app(engine, "boom")
    async with api_client(settings) as client:
        r = await client.post(
            "/v1/events", json=batch("sink_boom", "x"), headers=bearer(keys.write_key)
        )
        assert r.status_code == 200 and r.json()["accepted"] == 2
        r = await client.post("/v1/events", json=batch("after"), headers=bearer(keys.write_key))
        assert r.json()["accepted"] == 1
        _sinks(client).flush()  # type: ignore[attr-defined]
    assert [[e.name for e in b] for b in sink.received] == [["after"]]
    _, sinks, _ = stats.snapshot()
    assert sinks[("sink", "failed")] == 2
    assert sinks[("sink", "delivered")] == 1
    assert stats.snapshot()[0][("sink", "eventkit_events_stored")] == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_stuck_sink_drops_batches_and_capture_still_answers(
    database_url: str, engine: Engine, use_plugins: Use
) -> None:
    use_plugins(sink)
    settings = make_settings(database_url, PLUGINS__SINK_QUEUE_BATCHES="2")
    keys = create_tracked_app(engine, "stuck")
    sink.gate.clear()  # the sink blocks until released
    async with api_client(settings) as client:
        r = await client.post("/v1/events", json=batch("first"), headers=bearer(keys.write_key))
        assert sink.entered.wait(10)  # the worker holds "first"; the queue is empty
        for name in ("q1", "q2", "lost1", "lost2"):
            r = await client.post("/v1/events", json=batch(name), headers=bearer(keys.write_key))
            assert r.status_code == 200 and r.json()["accepted"] == 1
        _, sinks, queued = stats.snapshot()
        assert sinks[("sink", "dropped")] == 2
        assert queued["sink"] == 2
        sink.gate.set()
        _sinks(client).flush()  # type: ignore[attr-defined]
    assert [[e.name for e in b] for b in sink.received] == [["first"], ["q1"], ["q2"]]


async def test_shutdown_delivers_what_is_queued(
    settings: Settings, engine: Engine, use_plugins: Use
) -> None:
    use_plugins(sink)
    keys = create_tracked_app(engine, "drain")
    async with api_client(settings) as client:
        for name in ("a", "b", "c"):
            await client.post("/v1/events", json=batch(name), headers=bearer(keys.write_key))
    # Leaving the client ran the app's shutdown, which drains the sink queues.
    assert [e.name for b in sink.received for e in b] == ["a", "b", "c"]
