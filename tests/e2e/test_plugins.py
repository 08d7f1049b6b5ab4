"""Plugins in a real server: a plugins_dir with a broken, a raising and a sink plugin,
and the bundled webhook plugin loaded from its entry point, posting to a local
receiver. Nothing is lost and the server keeps serving."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import ServerProcess, event, stored
from tests.plugins.receiver import receiver

pytestmark = pytest.mark.e2e

DELIVERED = (("outcome", "delivered"), ("plugin", "webhook"))

FLAKY = """
from eventkit.plugins.hookspecs import hookimpl

@hookimpl
def eventkit_validate_event(event):
    return [("name", "is not wanted")] if event.name == "nope" else None

@hookimpl
def eventkit_enrich_event(event):
    raise RuntimeError("enricher bug")
"""
RECORDER = """
from pathlib import Path
from eventkit.plugins.hookspecs import hookimpl

@hookimpl
def eventkit_events_stored(events, settings):
    path = Path(settings.plugins.options("recorder")["path"])
    with path.open("a") as fh:
        for e in events:
            fh.write(e.name + "\\n")
"""


def test_plugins_in_a_real_server(
    start_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "flaky.py").write_text(FLAKY)
    (plugins / "recorder.py").write_text(RECORDER)
    (plugins / "broken.py").write_text("raise ImportError('broken on purpose')\n")
    record = tmp_path / "recorded.txt"
    with receiver() as rx:
        srv = start_server(
            {
                "EVENTKIT_LOAD_PLUGINS": "1",
                "EVENTKIT_PLUGINS__DIR": str(plugins),
                "EVENTKIT_PLUGINS__ENABLE": "webhook",
                "EVENTKIT_PLUGINS__WEBHOOK__URL": rx.url,
                "EVENTKIT_PLUGINS__WEBHOOK__SECRET": "k",
                "EVENTKIT_PLUGINS__RECORDER__PATH": str(record),
            }
        )
        events = [event(name="a"), event(name="nope"), event(name="b")]
        with srv.client() as http:
            r = http.post("/v1/events", json={"events": events})
            assert r.status_code == 200, r.text
            assert r.json()["accepted"] == 2
            assert [x["index"] for x in r.json()["rejected"]] == [1]
            # The webhook delivers off the request path: wait until it counted the batch.
            deadline = time.monotonic() + 30
            while True:
                samples = {
                    (s.name, tuple(sorted(s.labels.items()))): s.value
                    for fam in text_string_to_metric_families(http.get("/metrics").text)
                    for s in fam.samples
                }
                if samples.get(("eventkit_plugin_sink_events_total", DELIVERED)) == 2:
                    break
                assert time.monotonic() < deadline, samples
                time.sleep(0.05)
        assert srv.terminate() == 0
    names = [e["name"] for b in rx.bodies() for e in b["events"]]
    assert names == ["a", "b"]
    assert record.read_text().split() == ["a", "b"]  # the sink drained at shutdown
    engine = srv.engine()
    try:
        rows = stored(engine)
    finally:
        engine.dispose()
    assert sorted(e.name for e in rows) == ["a", "b"]
    assert all(
        e.properties == {"screen": "home"} for e in rows
    )  # the raising enricher changed nothing
    errors = "eventkit_plugin_errors_total"
    assert samples[(errors, (("hook", "eventkit_enrich_event"), ("plugin", "flaky")))] == 2
    assert samples[(errors, (("hook", "load"), ("plugin", "broken")))] == 1
    assert "plugin 'broken'" in srv.stderr + srv.stdout
