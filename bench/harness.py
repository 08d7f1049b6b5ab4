"""Processes of the benchmarks: servers started in their own process groups, stopped
on exit (also on Ctrl-C), and the eventkit and ceiling servers of bench/ingest.py."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
HOST = "127.0.0.1"
KEY_RE = re.compile(r"ek_write_[A-Za-z0-9_\-]+")


class BenchError(Exception):
    """A scenario could not run or gave a wrong result."""


@dataclass
class Server:
    """A server process this script started (in its own process group)."""

    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log: Path
    key: str = ""
    db: Path | None = None


_STARTED: list[subprocess.Popen[bytes]] = []


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_process(proc: subprocess.Popen[bytes], *, graceful: float = 30.0) -> None:
    """SIGINT the leader (graceful shutdown), then SIGKILL what is left of its group.

    Every process passed here was started by this script with ``start_new_session``,
    so its process group holds only its own children.
    """
    pgid = proc.pid
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=graceful)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
            proc.wait(timeout=10)
    # Workers of a server that exited without reaping them.
    deadline = time.monotonic() + 5
    while _group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _group_alive(pgid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
    if proc in _STARTED:
        _STARTED.remove(proc)


def stop_all() -> None:
    for proc in list(_STARTED):
        with contextlib.suppress(Exception):
            stop_process(proc, graceful=10)


def spawn(cmd: list[str], *, log: Path, env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
    _STARTED.append(proc)
    return proc


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_ready(server: Server, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    url = f"http://{HOST}:{server.port}/healthz"
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise BenchError(
                f"{server.name} exited with {server.proc.returncode}:\n{_tail(server.log)}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise BenchError(f"{server.name} not ready after {timeout:.0f} s:\n{_tail(server.log)}")


#: eventkit's ingest.writer setting for the runs (--writer).
WRITER_MODE = "process"
#: Extra EVENTKIT_* settings for the eventkit runs (--set KEY=VALUE).
EXTRA_ENV: dict[str, str] = {}


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTKIT_")}
    env.update(PYTHONUNBUFFERED="1", NO_COLOR="1", COLUMNS="250", TERM="dumb")
    return env


def start_ceiling(server: str, workers: int, workdir: Path) -> Server:
    port = free_port()
    env = _clean_env()
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(BENCH), str(ROOT), env.get("PYTHONPATH", "")) if p
    )
    log = workdir / f"ceiling-{server}-{port}.log"
    cmd = [sys.executable, str(BENCH / "ceiling_app.py"), "--server", server]
    cmd += ["--host", HOST, "--port", str(port), "--workers", str(workers)]
    srv = Server(f"ceiling ({server})", spawn(cmd, log=log, env=env, cwd=workdir), port, log)
    wait_ready(srv)
    return srv


def start_eventkit(
    server: str,
    workers: int,
    workdir: Path,
    *,
    database_url: str | None = None,
    key: str = "",
    rundir: Path | None = None,
    settings: dict[str, str] | None = None,
) -> Server:
    """``eventkit serve`` on a fresh SQLite file in a new directory under ``workdir``,
    or on ``database_url`` (then ``key`` is its write key: no first-start output);
    ``settings`` (``EVENTKIT_...`` variables) are for this server only."""
    port = free_port()
    if rundir is None:
        rundir = Path(tempfile.mkdtemp(prefix=f"eventkit-{server}-", dir=workdir))
    db = rundir / "bench.db"
    env = _clean_env()
    env["EVENTKIT_DATABASE_URL"] = database_url or f"sqlite:///{db}"
    env["EVENTKIT_SPOOL__DIRECTORY"] = str(rundir / "spool")
    env["EVENTKIT_LOAD_PLUGINS"] = "0"
    env["EVENTKIT_INGEST__WRITER"] = WRITER_MODE
    env.update(EXTRA_ENV)
    env.update(settings or {})
    log = rundir / "serve.log"
    cmd = [sys.executable, "-m", "eventkit", "serve", "--host", HOST, "--port", str(port)]
    cmd += ["--server", server, "--workers", str(workers)]
    srv = Server(f"eventkit ({server})", spawn(cmd, log=log, env=env, cwd=rundir), port, log)
    srv.db = db if database_url is None or database_url.startswith("sqlite") else None
    wait_ready(srv)
    if key:
        srv.key = key
        return srv
    match = KEY_RE.search(log.read_text(errors="replace"))
    if not match:
        raise BenchError(f"no ek_write_ key in the first-start output:\n{_tail(log)}")
    srv.key = match.group(0)
    return srv
