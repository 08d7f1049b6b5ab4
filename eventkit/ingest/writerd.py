"""The writer process: one per node, owning the database connection.

Server workers send it groups of validated events over a Unix socket; it commits them
(exactly once, via ``EventStore.write``) and answers each request only after its
transaction committed. It ignores SIGINT and SIGHUP (a Ctrl-C or a closed terminal
reaches the whole process group, and the workers must drain first). On SIGTERM it
commits what it holds and exits once no worker is connected (at most
``GRACE_SECONDS`` later): the main process sends it after the workers exited, and when
the main process dies (``eventkit.lifetime``) the workers drain at the same time as
the writer gets its SIGTERM, so it stops last either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.process import BaseProcess
from pathlib import Path

from eventkit.config import load_settings
from eventkit.errors import EventKitError
from eventkit.ingest import wire
from eventkit.ingest.writer import take_group
from eventkit.lifetime import GRACE_SECONDS, end_with_parent, orphaned
from eventkit.logs import configure_logging
from eventkit.storage.engine import make_engine
from eventkit.storage.events import EventStore

__all__ = ["WriterSupervisor", "serve_writer"]

log = logging.getLogger("eventkit.writerd")
SOCKET_ENV = "EVENTKIT_WRITER_SOCKET"


class _Pending:
    __slots__ = ("future", "request")

    def __init__(self, request: wire.WireBatch, future: asyncio.Future[bytes]) -> None:
        self.request = request
        self.future = future


def _commit(store: EventStore, batch: list[_Pending]) -> list[bytes]:
    """Commit one group (in the commit thread); the framed answer of each request."""
    rows = [r for p in batch for r in p.request.rows]
    keys = b"".join(p.request.keys for p in batch)
    ops = [o for p in batch for o in p.request.ops]
    try:
        new = store.write_rows(rows, keys, ops)
    except EventKitError as exc:
        log.error("commit of %d events failed: %s", len(rows), exc.message)
        body = wire.encode_response(wire.WriteResponse(error=exc.message, code=exc.code))
        return [body] * len(batch)
    out = []
    offset = 0
    for p in batch:
        n = len(p.request.rows)
        out.append(wire.encode_response(wire.WriteResponse(new=new[offset : offset + n])))
        offset += n
    return out


async def _serve(store: EventStore, path: str, flush_max: int) -> None:
    loop = asyncio.get_running_loop()
    pending: list[_Pending] = []
    wake = asyncio.Event()
    stop = asyncio.Event()
    clients = 0
    # Commits run in a thread: SQLite releases the GIL while it inserts and syncs, so
    # the loop meanwhile reads and decodes the requests of the next group.
    committer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="eventkit-commit")

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal clients
        clients += 1
        try:
            while True:
                (size,) = wire.HEADER.unpack(await reader.readexactly(wire.HEADER.size))
                request = wire.decode_batch(await reader.readexactly(size))
                future: asyncio.Future[bytes] = loop.create_future()
                pending.append(_Pending(request, future))
                wake.set()
                writer.write(await future)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            clients -= 1
            wake.set()
            writer.close()

    async def commit_all() -> None:
        while pending:
            batch = take_group(pending, flush_max, lambda p: len(p.request.rows) or 1)
            bodies = await loop.run_in_executor(committer, _commit, store, batch)
            for p, body in zip(batch, bodies, strict=True):
                p.future.set_result(body)

    def on_sigterm() -> None:
        stop.set()
        wake.set()

    server = await asyncio.start_unix_server(handle, path=path, limit=2**26)
    loop.add_signal_handler(signal.SIGTERM, on_sigterm)
    log.info("writer process %d listening on %s", os.getpid(), path)
    stopped_at = 0.0
    try:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=1.0)
            wake.clear()
            await commit_all()
            if stop.is_set():
                # The main process stops the writer after its workers exited. When the
                # main process died instead, the workers drain now: commit for them
                # until they are gone (each disconnects as it exits).
                stopped_at = stopped_at or time.monotonic()
                if not clients:
                    break
                if time.monotonic() - stopped_at > GRACE_SECONDS:
                    log.error(
                        "%d workers still connected %.0f s after SIGTERM", clients, GRACE_SECONDS
                    )
                    break
        server.close()
        await asyncio.sleep(0)  # let handlers deliver their last answers
        await commit_all()
        await asyncio.sleep(0.05)
    finally:
        committer.shutdown(wait=True)


def serve_writer(path: str, parent: int) -> None:
    """Process entry point: settings from the environment, then serve until stopped.

    ``parent`` is the pid of the main process; the writer ends when it ends.
    """
    end_with_parent(parent, grace=2 * GRACE_SECONDS)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    settings = load_settings()
    configure_logging(settings.log)
    # Two threads share this process's GIL (the loop and the commit thread): hand it
    # over quickly after each SQLite call, as the server processes do.
    sys.setswitchinterval(settings.server.gil_switch_interval_us / 1_000_000)
    engine = make_engine(settings)
    try:
        store = EventStore(engine, memory_keys=settings.ingest.dedup_memory_keys)
        asyncio.run(_serve(store, path, settings.ingest.flush_max_events))
    finally:
        engine.dispose()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        if orphaned():  # nobody else removes the socket's directory
            with contextlib.suppress(OSError):
                os.rmdir(os.path.dirname(path))
        log.info("writer process stopped")


class WriterSupervisor:
    """Starts the writer process, restarts it if it dies, stops it last."""

    def __init__(self) -> None:
        self.directory = tempfile.mkdtemp(prefix="eventkit-")
        self.path = str(Path(self.directory) / "writer.sock")
        self._ctx = multiprocessing.get_context("spawn")
        self._process: BaseProcess | None = None
        self._stopping = threading.Event()
        self._watch: threading.Thread | None = None

    def _spawn(self, timeout: float = 30.0) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        process = self._ctx.Process(
            target=serve_writer, args=(self.path, os.getpid()), name="eventkit-writer"
        )
        process.start()
        self._process = process
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not process.is_alive():
                raise EventKitError(
                    f"the writer process exited at start (code {process.exitcode}); "
                    "see the log above"
                )
            with socket.socket(socket.AF_UNIX) as probe:
                try:
                    probe.connect(self.path)
                    return
                except OSError:
                    time.sleep(0.05)
        raise EventKitError("the writer process did not start within 30 s")

    def start(self) -> None:
        """Start the writer and a thread that restarts it if it dies."""
        os.environ[SOCKET_ENV] = self.path
        self._spawn()
        self._watch = threading.Thread(target=self._supervise, name="writer-watch", daemon=True)
        self._watch.start()

    def _supervise(self) -> None:
        while not self._stopping.wait(0.5):
            if self._process is not None and not self._process.is_alive():
                log.error(
                    "the writer process died (code %s); restarting it", self._process.exitcode
                )
                try:
                    self._spawn()
                except EventKitError as exc:
                    log.error("%s", exc.message)
                except Exception:  # this thread must outlive any failed restart
                    log.exception("restarting the writer process failed; retrying")

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the writer after it committed everything it holds."""
        self._stopping.set()
        process = self._process
        if process is not None and process.is_alive():
            assert process.pid is not None
            os.kill(process.pid, signal.SIGTERM)
            process.join(timeout)
            if process.is_alive():
                log.error("the writer process did not stop in %.0f s; killing it", timeout)
                process.kill()
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        with contextlib.suppress(OSError):
            os.rmdir(self.directory)
