"""The writer process behind `eventkit serve`: restarted when it dies, stopped last."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable

import httpx
import pytest

from eventkit.storage.events import count_events
from tests.e2e.conftest import ServerProcess, event, stored_ids
from tests.e2e.faults import stored_counts

pytestmark = pytest.mark.e2e

PROCESS = {"EVENTKIT_INGEST__WRITER": "process"}


def writer_pids(srv: ServerProcess) -> list[int]:
    """The pids of the server's writer processes (children named by multiprocessing)."""
    out = subprocess.run(
        ["pgrep", "-P", str(srv.process.pid), "-f", "multiprocessing.spawn"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    return [int(p) for p in out]


def writer_pid(srv: ServerProcess) -> int:
    """The pid of the server's one writer process."""
    pids = writer_pids(srv)
    assert len(pids) == 1, f"expected one writer process, found {pids}"
    return pids[0]


def ids_in(srv: ServerProcess) -> list[str]:
    engine = srv.engine()
    try:
        return sorted(stored_ids(engine))
    finally:
        engine.dispose()


def post(client: httpx.Client, n: int = 5) -> tuple[int, list[str], dict[str, str]]:
    events = [event() for _ in range(n)]
    r = client.post("/v1/events", json={"events": events})
    return r.status_code, [e["event_id"] for e in events], dict(r.headers)


def test_a_killed_writer_is_restarted_and_nothing_acknowledged_is_lost(
    start_server: Callable[..., ServerProcess],
) -> None:
    srv = start_server(PROCESS)
    acked: list[str] = []
    with srv.client() as client:
        status, ids, _ = post(client)
        assert status == 200
        acked += ids
        first = writer_pid(srv)
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            # While the writer is away, groups go to the spool and are acknowledged.
            status, ids, headers = post(client)
            if status == 200:
                acked += ids
                if writer_pids(srv) not in ([], [first]):
                    break
            else:
                assert status == 503, status
                assert headers.get("retry-after")
            time.sleep(0.1)
        assert writer_pid(srv) != first
        status, ids, _ = post(client)
        assert status == 200
        acked += ids
        deadline = time.monotonic() + 20
        while client.get("/readyz").json()["checks"]["spool"]["events"]:
            assert time.monotonic() < deadline, "the spool was not replayed"
            time.sleep(0.1)
    assert ids_in(srv) == sorted(acked)


def test_writer_killed_while_merging_keys_stores_each_event_once(
    start_server: Callable[..., ServerProcess],
) -> None:
    """The writer keeps the newest dedup keys in memory and merges them into event_keys
    every 30 here: kill it (SIGKILL) twice under load while clients resend
    batches they already sent; every acknowledged event is stored exactly once."""
    srv = start_server({**PROCESS, "EVENTKIT_INGEST__DEDUP_MEMORY_KEYS": "30"})
    sent: list[list[dict[str, str]]] = []
    acked: set[str] = set()
    kills = 0
    with srv.client() as client:
        deadline = time.monotonic() + 60
        while kills < 2 or len(acked) < 200:
            assert time.monotonic() < deadline, f"stalled: {len(acked)} acked, {kills} kills"
            batch = [event() for _ in range(8)] if not sent or len(sent) % 3 else sent[-2]
            r = client.post("/v1/events", json={"events": batch})
            if r.status_code == 200:
                acked.update(e["event_id"] for e in batch)
                sent.append(batch)
            else:
                assert r.status_code == 503 and r.headers.get("retry-after"), r.text
            if len(sent) % 15 == 14 and kills < 2 and writer_pids(srv):
                os.kill(writer_pid(srv), signal.SIGKILL)
                kills += 1
                sent.append(sent[-1])  # resend what was just written, as a client would
        for batch in sent[-5:]:  # resends once the writer is back: duplicates
            r = client.post("/v1/events", json={"events": batch})
            assert r.status_code == 200
        deadline = time.monotonic() + 30
        while client.get("/readyz").json()["checks"]["spool"]["events"]:
            assert time.monotonic() < deadline, "the spool was not replayed"
            time.sleep(0.1)
    engine = srv.engine()
    try:
        counts = stored_counts(engine)
    finally:
        engine.dispose()
    assert {i for i, n in counts.items() if n > 1} == set()
    assert acked <= set(counts)


def test_shutdown_stops_the_writer_and_removes_its_socket(
    start_server: Callable[..., ServerProcess],
) -> None:
    srv = start_server(PROCESS)
    with srv.client() as client:
        assert post(client)[0] == 200
    pid = writer_pid(srv)
    socket_path = os.environ.get("EVENTKIT_WRITER_SOCKET")  # set only in the server
    assert socket_path is None
    assert srv.terminate() == 0
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert "writer process stopped" in srv.output()
    engine = srv.engine()
    try:
        assert count_events(engine) == 5
    finally:
        engine.dispose()


def test_the_thread_writer_needs_no_process(
    start_server: Callable[..., ServerProcess],
) -> None:
    srv = start_server({"EVENTKIT_INGEST__WRITER": "thread"})
    with srv.client() as client:
        status, ids, _ = post(client, 3)
    assert status == 200
    assert (
        subprocess.run(
            ["pgrep", "-P", str(srv.process.pid), "-f", "multiprocessing.spawn"],
            capture_output=True,
            check=False,
        ).stdout
        == b""
    )
    assert ids_in(srv) == sorted(ids)
