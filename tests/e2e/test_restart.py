"""Stop and start again on the same port at once: after SIGTERM and after SIGKILL of the
main process, right after traffic left connections in TIME-WAIT. SIGHUP (a closed
terminal) stops a foreground server like SIGTERM. A second server on a port another
one listens on is still refused."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from eventkit.lifetime import GRACE_SECONDS
from tests.cli.test_serve import time_wait
from tests.e2e.conftest import _KEY, ServerProcess, event, free_port, launch, stored_ids
from tests.e2e.procs import tree, wait_gone

pytestmark = pytest.mark.e2e


def port_of(srv: ServerProcess) -> int:
    return int(srv.url.rsplit(":", 1)[1])


def traffic(url: str, key: str, n: int = 20) -> list[str]:
    """``n`` requests, each on a connection the server closes (TIME-WAIT on its side)."""
    ids = []
    for _ in range(n):
        ev = event()
        r = httpx.post(
            f"{url}/v1/events",
            json={"events": [ev]},
            headers={"Authorization": f"Bearer {key}", "Connection": "close"},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        ids.append(str(ev["event_id"]))
    return ids


def ids_in(srv: ServerProcess) -> set[str]:
    engine = srv.engine()
    try:
        return set(stored_ids(engine))
    finally:
        engine.dispose()


@pytest.mark.parametrize("how", ["sigterm", "sigkill"])
def test_restart_on_the_same_port_right_after_traffic(
    database_url: str, tmp_path: Path, how: str
) -> None:
    srv = launch(database_url, tmp_path / "first")
    assert srv.write_key
    procs = tree(srv.process.pid)
    sent = traffic(srv.url, srv.write_key)
    if how == "sigterm":
        assert srv.terminate() == 0
    else:
        os.kill(srv.process.pid, signal.SIGKILL)
        srv.process.wait(10)
    wait_gone(procs, timeout=GRACE_SECONDS + 5)
    port = port_of(srv)
    assert time_wait(port) > 0  # what used to block the restart for a minute
    again = launch(database_url, tmp_path / "second", port=port)
    try:
        assert again.url == srv.url
        sent += traffic(again.url, srv.write_key, 3)
    finally:
        assert again.terminate() == 0
    assert ids_in(srv) == set(sent)


def test_a_second_server_on_a_live_port_is_refused(database_url: str, tmp_path: Path) -> None:
    srv = launch(database_url, tmp_path / "first")
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTKIT_")}
        env.update({"EVENTKIT_DATABASE_URL": database_url, "EVENTKIT_LOAD_PLUGINS": "0"})
        second = subprocess.run(
            [sys.executable, "-m", "eventkit", "serve", "--port", str(port_of(srv))],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert second.returncode == 1, second
        assert f"cannot listen on 127.0.0.1:{port_of(srv)}" in second.stderr + second.stdout
        assert httpx.get(f"{srv.url}/healthz", timeout=5).status_code == 200
    finally:
        assert srv.terminate() == 0


# -- SIGHUP ----------------------------------------------------------------------------

#: Runs `eventkit serve` as the leader of a new session whose controlling terminal is
#: the pseudo-terminal on its stdin, as a shell in a terminal window does.
IN_TERMINAL = (
    "import fcntl, os, sys, termios; os.setsid(); fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
    "os.execv(sys.executable, [sys.executable, '-m', 'eventkit', *sys.argv[1:]])"
)


class Terminal:
    """A pseudo-terminal whose output a thread keeps reading (a full terminal buffer
    would block the server's writes)."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        self.output = b""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if ready:
                try:
                    self.output += os.read(self.master, 65536)
                except OSError:
                    return

    def close(self) -> None:
        """Close the terminal window: the kernel hangs the terminal up (SIGHUP)."""
        self._stop.set()
        self._thread.join(5)
        os.close(self.master)


def wait_ready(url: str, proc: subprocess.Popen[bytes], term: Terminal) -> None:
    deadline = time.monotonic() + 30
    while True:
        assert proc.poll() is None, term.output.decode(errors="replace")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, term.output.decode(errors="replace")
        time.sleep(0.1)


def test_closing_the_terminal_stops_the_server(database_url: str, tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTKIT_")}
    env.update({"EVENTKIT_DATABASE_URL": database_url, "EVENTKIT_LOAD_PLUGINS": "0"})
    term = Terminal()
    proc = subprocess.Popen(
        [sys.executable, "-c", IN_TERMINAL, "serve", "--port", str(port)],
        stdin=term.slave,
        stdout=term.slave,
        stderr=term.slave,
        cwd=tmp_path,
        env=env,
    )
    os.close(term.slave)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc, term)
        procs = tree(proc.pid)
        assert len(procs) >= 3, procs  # main, writer process, HTTP worker
        key = next(k for k in _KEY.findall(term.output.decode()) if k.startswith("ek_write_"))
        sent = traffic(url, key, 5)
    finally:
        term.close()
    try:
        proc.wait(GRACE_SECONDS + 5)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    wait_gone(procs, timeout=5)
    # Drained and exited like on SIGTERM; the port is free for the next start.
    srv = ServerProcess(url=url, database_url=database_url, process=proc, log_dir=tmp_path)
    assert ids_in(srv) == set(sent)
    again = launch(database_url, tmp_path / "again", port=port)
    assert again.terminate() == 0


@pytest.mark.parametrize("workers", [1, 2])
def test_sighup_stops_uvicorn_like_sigterm(sqlite_url: str, tmp_path: Path, workers: int) -> None:
    # Signal handling does not depend on the database: SQLite only.
    database_url = sqlite_url
    env = {"EVENTKIT_SERVER__SERVER": "uvicorn", "EVENTKIT_SERVER__WORKERS": str(workers)}
    srv = launch(database_url, tmp_path / "first", env)
    assert srv.write_key
    procs = tree(srv.process.pid)
    sent = traffic(srv.url, srv.write_key, 5)
    srv.process.send_signal(signal.SIGHUP)
    assert srv.process.wait(GRACE_SECONDS + 5) == 0, srv.output()
    wait_gone(procs, timeout=5)
    assert "SIGHUP: stopping" in srv.stderr
    assert "writer process stopped" in srv.stderr
    assert ids_in(srv) == set(sent)
    launch(database_url, tmp_path / "again", port=port_of(srv)).terminate()
