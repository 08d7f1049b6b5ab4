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

pytestmark = pytest.mark.e2e

PROCESS = {"EVENTKIT_INGEST__WRITER": "process"}


def writer_pid(srv: ServerProcess) -> int:
    """The pid of the server's writer process (a child named by multiprocessing)."""
    out = subprocess.run(
        ["pgrep", "-P", str(srv.process.pid), "-f", "multiprocessing.spawn"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    assert len(out) == 1, f"expected one writer process, found {out}"
    return int(out[0])


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
        saw_503 = False
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            status, ids, headers = post(client)
            if status == 200:
                acked += ids
                if saw_503 or writer_pid(srv) != first:
                    break
            else:
                assert status == 503, status
                assert headers.get("retry-after") == "5"
                saw_503 = True
            time.sleep(0.1)
        assert writer_pid(srv) != first
        status, ids, _ = post(client)
        assert status == 200
        acked += ids
    assert ids_in(srv) == sorted(acked)


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
