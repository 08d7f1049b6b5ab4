"""Run the sessions job in a child process.

``eventkit serve`` is one Python process: a job thread there competes with the ingest
event loop for the GIL. A child process (started once, with ``spawn``, and reused)
runs on another core instead; bench/sessions.py measures the difference. The child
ends with the process that started it (``eventkit.lifetime``), and a child that died
(the OOM killer) is replaced at the next run instead of failing every run after it.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING

from eventkit.config import Settings
from eventkit.lifetime import end_with_parent
from eventkit.sessions.job import JobResult, run_sessions_job

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

__all__ = ["JobRunner"]

log = logging.getLogger("eventkit.sessions")

_child_engine: dict[str, Engine] = {}


def _start_child(parent: int, niceness: int) -> None:
    """End with ``parent``, leave SIGINT and SIGHUP to it, and run below the server's
    CPU priority: under saturation ingest keeps the CPU and the job catches up when
    load drops (sessions are eventually consistent)."""
    end_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    if niceness:
        os.nice(niceness)


def _run_in_child(settings: Settings) -> JobResult:
    from eventkit.storage.engine import make_engine

    engine = _child_engine.get(settings.database_url)
    if engine is None:
        engine = _child_engine[settings.database_url] = make_engine(settings)
    return run_sessions_job(engine, settings)


class JobRunner:
    """Runs the job body in-process or in a reused child process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._engine: Engine | None = None

    def __call__(self) -> JobResult:
        """Run the job once and wait for it (called from the scheduler's thread)."""
        if not self.settings.sessions.subprocess:
            return run_sessions_job(self._local_engine(), self.settings)
        with self._lock:
            if self._pool is None:
                ctx = multiprocessing.get_context("spawn")
                self._pool = ProcessPoolExecutor(
                    max_workers=1,
                    mp_context=ctx,
                    initializer=_start_child,
                    initargs=(os.getpid(), self.settings.sessions.job_nice),
                )
            pool = self._pool
        try:
            return pool.submit(_run_in_child, self.settings).result()
        except BrokenProcessPool:
            with self._lock:
                if self._pool is pool:
                    self._pool = None
            pool.shutdown(wait=False)
            log.error("the sessions job's child process died; the next run starts a new one")
            raise

    def _local_engine(self) -> Engine:
        from eventkit.storage.engine import make_engine

        with self._lock:
            if self._engine is None:
                self._engine = make_engine(self.settings)
            return self._engine

    def close(self) -> None:
        """Stop the child process and release connections."""
        with self._lock:
            pool, self._pool = self._pool, None
            engine, self._engine = self._engine, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        if engine is not None:
            engine.dispose()
