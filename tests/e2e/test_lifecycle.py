"""A server's life over real processes: keys printed on first start only, and a SIGTERM
that drains every acknowledged event into the database before exiting 0."""

from __future__ import annotations

import re
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable

import httpx
import pytest

from eventkit.storage.apps import list_apps, resolve_key
from eventkit.storage.events import count_events
from tests.e2e.conftest import ServerProcess, event, stored_ids

pytestmark = pytest.mark.e2e


def test_first_start_prints_keys_and_url_and_a_restart_does_not(
    start_server: Callable[..., ServerProcess],
) -> None:
    first = start_server()
    port = first.url.rsplit(":", 1)[1]
    out = first.stdout
    assert first.write_key, first.output()
    assert first.secret_key, first.output()
    assert re.search(r"write key .*ek_write_", out)
    assert re.search(r"secret key .*ek_secret_", out)
    assert f"http://localhost:{port}/v1/events" in out
    ev = event()
    with first.client() as c:
        assert c.post("/v1/events", json={"events": [ev]}).status_code == 200
    assert first.terminate() == 0

    second = start_server()
    assert "ek_write_" not in second.stdout
    assert "ek_secret_" not in second.stdout
    assert f"serving on http://localhost:{second.url.rsplit(':', 1)[1]}" in second.stdout
    engine = second.engine()
    try:
        apps = list_apps(engine)
        assert [a.name for a in apps] == ["default"]
        resolved = resolve_key(engine, first.write_key)
        assert resolved is not None
        assert resolved.app_name == "default"
        assert stored_ids(engine) == [ev["event_id"]]
    finally:
        engine.dispose()
    # The keys printed on the first start still work after the restart.
    second.write_key = first.write_key
    with second.client() as c:
        assert c.post("/v1/events", json={"events": [event()]}).json()["accepted"] == 1


@pytest.mark.parametrize("writer", ["thread", "process"])
def test_sigterm_drains_every_acknowledged_event(
    start_server: Callable[..., ServerProcess], writer: str
) -> None:
    srv = start_server({"EVENTKIT_INGEST__WRITER": writer})
    acked: list[str] = []
    refused: Counter[str] = Counter()
    lock = threading.Lock()
    started = threading.Event()
    errors: list[BaseException] = []

    def client() -> None:
        try:
            with srv.client(timeout=15) as c:
                while True:
                    events = [event(properties={"i": i}) for i in range(10)]
                    try:
                        resp = c.post("/v1/events", json={"events": events})
                    except httpx.TransportError as exc:
                        with lock:
                            refused[type(exc).__name__] += 1
                        return
                    if resp.status_code != 200:
                        # Refusing work while shutting down is fine; acknowledging is a promise.
                        assert resp.status_code == 503, resp.text
                        with lock:
                            refused["503"] += 1
                        continue
                    body = resp.json()
                    assert (body["accepted"], body["rejected"]) == (10, []), body
                    with lock:
                        acked.extend(e["event_id"] for e in events)
                    started.set()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(20)]
    for t in threads:
        t.start()
    assert started.wait(30), (errors, srv.output())
    time.sleep(0.5)  # let requests pile up in the writer's queue
    t0 = time.monotonic()
    srv.process.send_signal(signal.SIGTERM)
    code = srv.process.wait(20)
    took = time.monotonic() - t0
    for t in threads:
        t.join(20)
    summary = (
        f"exit {code} after {took:.1f} s; {len(acked)} events acknowledged; "
        f"refused: {dict(refused)}; client errors: {errors[:3]}\n{srv.output()}"
    )
    assert not errors, summary
    assert code == 0, summary
    assert took < 10, summary
    assert acked, summary
    assert "shutdown complete" in srv.stderr, summary

    engine = srv.engine()
    try:
        ids = stored_ids(engine)
        counts = Counter(ids)
        missing = set(acked) - set(counts)
        assert not missing, f"{len(missing)} acknowledged events were lost; {summary}"
        assert max(counts.values()) == 1, summary
        assert count_events(engine) == len(ids) >= len(acked)
    finally:
        engine.dispose()
