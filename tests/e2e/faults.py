"""Tools of the fault tests: a load client that records what was acknowledged, and a
TCP proxy between the server and PostgreSQL that the test cuts and restores."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx
from sqlalchemy import text
from sqlalchemy.engine import Engine

from tests.e2e.conftest import event, free_port

__all__ = ["FaultyDatabase", "Load", "TcpProxy", "stored_counts", "wait_replayed"]


@dataclass
class Load:
    """Threads posting batches to one or more servers until stopped.

    ``acked`` holds the event_ids of every 2xx answer (and ``acked_events`` the events
    themselves, for a re-send, when ``keep`` is set); ``statuses`` counts every answer
    (``"error"`` for a connection that failed: not acknowledged either). Each 5xx is
    recorded with its Retry-After header, which must be present.
    """

    urls: Sequence[str]
    key: str
    batch: int = 10
    threads: int = 4
    keep: bool = False
    acked: list[str] = field(default_factory=list)
    acked_events: list[dict[str, object]] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    missing_retry_after: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _workers: list[threading.Thread] = field(default_factory=list)

    def _run(self, n: int) -> None:
        url = self.urls[n % len(self.urls)]
        headers = {"Authorization": f"Bearer {self.key}"}
        with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
            while not self._stop.is_set():
                events = [event() for _ in range(self.batch)]
                try:
                    r = client.post("/v1/events", json={"events": events})
                except httpx.TransportError:
                    with self._lock:
                        self.statuses["error"] += 1
                    time.sleep(0.05)
                    continue
                with self._lock:
                    self.statuses[str(r.status_code)] += 1
                    if r.status_code == 200:
                        self.acked.extend(e["event_id"] for e in events)
                        if self.keep:
                            self.acked_events.extend(events)
                    elif r.status_code >= 500 and not r.headers.get("retry-after"):
                        self.missing_retry_after += 1
                if r.status_code != 200:
                    time.sleep(0.05)

    def start(self) -> Load:
        """Start the threads."""
        for n in range(self.threads):
            t = threading.Thread(target=self._run, args=(n,), daemon=True)
            t.start()
            self._workers.append(t)
        return self

    def stop(self) -> None:
        """Stop and wait for the threads (each finishes its request in flight)."""
        self._stop.set()
        for t in self._workers:
            t.join(90)

    def wait_acked(self, at_least: int, timeout: float = 60) -> None:
        """Block until ``at_least`` more events than now were acknowledged."""
        target = len(self.acked) + at_least
        deadline = time.monotonic() + timeout
        while len(self.acked) < target:
            assert time.monotonic() < deadline, f"load stalled: {self.statuses}"
            time.sleep(0.02)


def stored_counts(engine: Engine) -> Counter[str]:
    """Rows per stored event_id."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT event_id FROM events")).scalars()
        return Counter(str(r if isinstance(r, uuid.UUID) else uuid.UUID(bytes=r)) for r in rows)


def wait_replayed(url: str, timeout: float = 120) -> None:
    """Until the server's /readyz says its spool is empty and the database is fine."""
    deadline = time.monotonic() + timeout
    body: object = None
    while time.monotonic() < deadline:
        try:
            r = httpx.get(f"{url}/readyz", timeout=5)
            body = r.json()
            checks = body["checks"]  # type: ignore[index]
            if r.status_code == 200 and body["status"] == "ok" and not checks["spool"]["events"]:  # type: ignore[index]
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"spool not replayed in {timeout} s: {body}")


class TcpProxy:
    """A TCP proxy on 127.0.0.1:<port> to ``target``, run by a thread's event loop.

    ``cut()`` closes the listener and every open connection (the server sees its
    database connections drop and new ones refused); ``restore()`` listens again.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._conns: set[asyncio.StreamWriter] = set()
        self._thread.start()
        self.restore()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        with contextlib.suppress(Exception):
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._conns |= {writer, up_writer}
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            self._conns -= {writer, up_writer}

    async def _listen(self) -> None:
        if self._server is not None:
            return
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for w in list(self._conns):
            with contextlib.suppress(Exception):
                w.transport.abort()
        self._conns.clear()

    def restore(self) -> None:
        """Accept and forward connections again."""
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(10)

    def cut(self) -> None:
        """Drop every connection and refuse new ones."""
        asyncio.run_coroutine_threadsafe(self._cut(), self._loop).result(10)

    def close(self) -> None:
        """Stop the proxy."""
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


class FaultyDatabase:
    """A database the test can make unavailable to the server: PostgreSQL behind a
    ``TcpProxy`` that is cut; SQLite held by another connection's exclusive lock (the
    server's commits fail after its short busy timeout)."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.proxy: TcpProxy | None = None
        self.server_url = database_url
        if database_url.startswith("postgresql"):
            self.proxy = TcpProxy("127.0.0.1", 5432)
            self.server_url = database_url.replace(":5432/", f":{self.proxy.port}/", 1)
            assert self.server_url != database_url
        self._sqlite: sqlite3.Connection | None = None

    @property
    def env(self) -> dict[str, str]:
        """Server settings that make failures quick to notice."""
        return {"EVENTKIT_SQLITE__BUSY_TIMEOUT_MS": "300"}

    def down(self) -> None:
        """Make the database unavailable to the server."""
        if self.proxy is not None:
            self.proxy.cut()
        else:
            path = self.database_url.split("///", 1)[1]
            self._sqlite = sqlite3.connect(path, isolation_level=None)
            self._sqlite.execute("BEGIN EXCLUSIVE")

    def up(self) -> None:
        """Bring it back."""
        if self.proxy is not None:
            self.proxy.restore()
        elif self._sqlite is not None:
            self._sqlite.execute("ROLLBACK")
            self._sqlite.close()
            self._sqlite = None

    def close(self) -> None:
        """Bring it back and stop the proxy."""
        self.up()
        if self.proxy is not None:
            self.proxy.close()
