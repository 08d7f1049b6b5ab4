"""Run the sessions job in a child process.

``eventkit serve`` is one Python process: a job thread there competes with the ingest
event loop for the GIL. A child process (started once, with ``spawn``, and reused)
runs on another core instead; bench/sessions.py measures the difference.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING

from eventkit.config import Settings
from eventkit.sessions.job import JobResult, run_sessions_job

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

__all__ = ["JobRunner"]

_child_engine: dict[str, Engine] = {}


def _lower_priority(niceness: int) -> None:
    """Run the child below the server's CPU priority: under saturation ingest keeps the
    CPU and the job catches up when load drops (sessions are eventually consistent)."""
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
                    initializer=_lower_priority,
                    initargs=(self.settings.sessions.job_nice,),
                )
            pool = self._pool
        return pool.submit(_run_in_child, self.settings).result()

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
