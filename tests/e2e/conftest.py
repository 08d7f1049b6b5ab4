"""End-to-end fixtures: a real ``eventkit serve`` process on a free port, talked to over
HTTP with httpx, and the database it wrote read back with eventkit's own queries.

``server`` is one process per test module (tests in a module must not interfere: each
uses its own ids); ``start_server`` starts a process on a fresh database for tests that
need one (first start, shutdown).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine

from eventkit.storage.engine import make_engine
from eventkit.storage.events import EventFilter, query_events
from eventkit.storage.models import Event
from tests.conftest import DATABASE_KINDS, fresh_database, make_settings

READY_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
_KEY = re.compile(r"\b(ek_(?:write|secret)_[A-Za-z0-9_-]+)")


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServerProcess:
    """A running ``eventkit serve`` and what it printed."""

    url: str
    database_url: str
    process: subprocess.Popen[str]
    log_dir: Path
    write_key: str | None = None
    secret_key: str | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def stdout(self) -> str:
        return (self.log_dir / "stdout.txt").read_text()

    @property
    def stderr(self) -> str:
        return (self.log_dir / "stderr.txt").read_text()

    def output(self) -> str:
        return f"--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}"

    def client(self, key: str | None = "write", **kw: Any) -> httpx.Client:
        """An httpx client on this server, authenticated with its write (or secret) key."""
        headers = {}
        token = {"write": self.write_key, "secret": self.secret_key}.get(key or "")
        if token:
            headers["Authorization"] = f"Bearer {token}"
        kw.setdefault("timeout", 30)
        return httpx.Client(base_url=self.url, headers=headers, **kw)

    def engine(self) -> Engine:
        """An engine on the server's database (for reading what it stored)."""
        return make_engine(make_settings(self.database_url))

    def terminate(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM, wait, return the exit code (killing the process group if it hangs)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
            pytest.fail(f"server did not exit {timeout} s after SIGTERM\n{self.output()}")


def launch(
    database_url: str,
    log_dir: Path,
    env: dict[str, str] | None = None,
    *,
    port: int | None = None,
) -> ServerProcess:
    """Start ``python -m eventkit serve`` (on ``port``, else a free one) and wait until
    /readyz answers 200."""
    log_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    # Only this test's settings: none inherited from the developer's environment.
    environ = {k: v for k, v in os.environ.items() if not k.startswith("EVENTKIT_")}
    environ.update(
        {
            "EVENTKIT_DATABASE_URL": database_url,
            "EVENTKIT_LOAD_PLUGINS": "0",
            "COLUMNS": "250",  # Rich wraps at 80 columns when not on a terminal
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
    )
    with (log_dir / "stdout.txt").open("w") as out, (log_dir / "stderr.txt").open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "eventkit", "serve", "--port", str(port)],
            cwd=log_dir,
            env=environ,
            stdout=out,
            stderr=err,
            text=True,
            start_new_session=True,
        )
    srv = ServerProcess(
        url=f"http://127.0.0.1:{port}",
        database_url=database_url,
        process=proc,
        log_dir=log_dir,
        extra_env=env or {},
    )
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        if proc.poll() is not None:
            pytest.fail(f"server exited with {proc.returncode} before ready\n{srv.output()}")
        try:
            if httpx.get(f"{srv.url}/readyz", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            srv.terminate()
            pytest.fail(f"server not ready after {READY_TIMEOUT} s\n{srv.output()}")
        time.sleep(0.1)
    for key in _KEY.findall(srv.stdout):
        if key.startswith("ek_write_") and srv.write_key is None:
            srv.write_key = key
        elif key.startswith("ek_secret_") and srv.secret_key is None:
            srv.secret_key = key
    return srv


@contextmanager
def running(
    database_url: str, log_dir: Path, env: dict[str, str] | None = None
) -> Iterator[ServerProcess]:
    """A server for the duration of the block; SIGTERM and wait on exit."""
    srv = launch(database_url, log_dir, env)
    try:
        yield srv
    finally:
        srv.terminate()


@pytest.fixture(scope="module", params=DATABASE_KINDS)
def module_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """Like ``database_url`` but shared by a module's tests (and its one server)."""
    with fresh_database(request.param, tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    """Extra environment for the module's server; override in a test module."""
    return {}


@pytest.fixture(scope="module")
def server(
    module_database_url: str,
    server_env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServerProcess]:
    """One server per test module (and database)."""
    with running(module_database_url, tmp_path_factory.mktemp("server"), server_env) as srv:
        assert srv.write_key, srv.output()
        assert srv.secret_key, srv.output()
        yield srv


@pytest.fixture(scope="module")
def db(server: ServerProcess) -> Iterator[Engine]:
    """An engine on the module server's database."""
    eng = server.engine()
    yield eng
    eng.dispose()


@pytest.fixture
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    """An httpx client on the module server with its write key."""
    with server.client() as c:
        yield c


@pytest.fixture
def start_server(database_url: str, tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Start servers on this test's fresh database; all are stopped at teardown."""
    started: list[ServerProcess] = []

    def start(env: dict[str, str] | None = None) -> ServerProcess:
        srv = launch(database_url, tmp_path / f"server{len(started)}", env)
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.terminate()


# -- event helpers ---------------------------------------------------------------------


def iso(dt: datetime) -> str:
    """RFC 3339 with microseconds and a Z."""
    return dt.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def us(dt: datetime) -> int:
    """Epoch microseconds of an aware datetime."""
    delta = dt - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def event(**fields: Any) -> dict[str, Any]:
    """A valid native event; ``fields`` override or (with value ``...``) remove keys."""
    ev: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "name": "screen_view",
        "timestamp": iso(datetime.now(UTC) - timedelta(seconds=1)),
        "anonymous_id": f"device-{uuid.uuid4().hex[:8]}",
        "properties": {"screen": "home"},
    }
    ev.update(fields)
    return {k: v for k, v in ev.items() if v is not ...}


def stored(engine: Engine, **flt: Any) -> list[Event]:
    """Events in the database matching an EventFilter's fields."""
    return query_events(engine, EventFilter(**flt), limit=100_000)


def stored_ids(engine: Engine, **flt: Any) -> list[str]:
    """event_ids (as strings, one per stored row) matching the filter."""
    return [str(e.event_id) for e in stored(engine, **flt)]
