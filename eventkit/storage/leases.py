"""Job leases: each scheduled job runs on exactly one process at a time.

On PostgreSQL a lease is a session-level advisory lock (``pg_try_advisory_lock``) held
on one dedicated connection per process. The process holding a job's lock is that job's
leader and keeps it while it lives; every other node's scheduler fires too, fails to
take the lock, and skips the run. When the leader dies its connection closes, the
server releases the lock, and the next node whose schedule fires takes it over
(failover within one job interval). A leader that loses its connection (database
restart) loses its leases with it and competes again on its next run.

On SQLite every process is on one machine: the lease is an exclusive ``flock`` on a
file next to the database, released by the kernel when the process dies.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import threading
from pathlib import Path
from typing import IO, Any, Protocol

from eventkit.config import Settings
from eventkit.storage.engine import normalize_url, sqlite_path

__all__ = ["FileLeases", "JobLeases", "PostgresLeases", "lease_key", "make_leases"]

log = logging.getLogger("eventkit.leases")


def lease_key(job_id: str) -> int:
    """The advisory-lock key of a job: a stable signed 64-bit hash of its id."""
    digest = hashlib.blake2b(f"eventkit-job:{job_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class JobLeases(Protocol):
    """Who runs which job."""

    def hold(self, job_id: str) -> bool:
        """True if this process holds (or just took) the job's lease."""

    def close(self) -> None:
        """Give every lease up."""


class PostgresLeases:
    """Advisory locks on one dedicated autocommit connection (thread-safe)."""

    def __init__(self, url: str) -> None:
        self.url = normalize_url(url).replace("postgresql+psycopg://", "postgresql://", 1)
        self._conn: Any = None
        self._held: set[str] = set()
        self._lock = threading.Lock()
        self._closed = False

    def _connection(self) -> Any:
        import psycopg

        if self._conn is None or self._conn.closed:
            self._held.clear()
            self._conn = psycopg.connect(
                self.url, autocommit=True, connect_timeout=5, application_name="eventkit-leases"
            )
        return self._conn

    def hold(self, job_id: str) -> bool:
        """Take or confirm the job's advisory lock; False if another process holds it
        or the database is unreachable."""
        import psycopg

        with self._lock:
            if self._closed:  # a run that started before close(): never reconnect
                return False
            try:
                conn = self._connection()
                if job_id in self._held:
                    conn.execute("SELECT 1")  # same session alive: the lock is still ours
                    return True
                row = conn.execute("SELECT pg_try_advisory_lock(%s)", (lease_key(job_id),))
                got = bool(row.fetchone()[0])
            except psycopg.Error as exc:
                if self._held:
                    log.warning("lost the job leases (%s): competing again", exc)
                self._reset()
                return False
            if got:
                self._held.add(job_id)
                log.info("this process now runs the job %s", job_id)
            return got

    def _reset(self) -> None:
        self._held.clear()
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
        self._conn = None

    def close(self) -> None:
        """Close the connection: the server releases every lock at once."""
        with self._lock:
            self._closed = True
            self._reset()


class FileLeases:
    """``flock`` on ``<database>.job-<id>.lock`` files (SQLite: one machine)."""

    def __init__(self, directory: Path, stem: str) -> None:
        self.directory = directory
        self.stem = stem
        self._files: dict[str, IO[bytes]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def hold(self, job_id: str) -> bool:
        """Take or confirm the job's file lock."""
        with self._lock:
            if self._closed:
                return False
            if job_id in self._files:
                return True
            safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in job_id)
            path = self.directory / f"{self.stem}.job-{safe}.lock"
            path.parent.mkdir(parents=True, exist_ok=True)
            file = path.open("ab")
            try:
                fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                file.close()
                return False
            self._files[job_id] = file
            log.info("this process now runs the job %s", job_id)
            return True

    def close(self) -> None:
        """Release every lock (for good: ``hold`` answers False afterwards)."""
        with self._lock:
            self._closed = True
            for file in self._files.values():
                file.close()
            self._files.clear()


def make_leases(settings: Settings) -> JobLeases:
    """The leases for the configured database."""
    url = settings.database_url
    if url.startswith("sqlite"):
        path = sqlite_path(url)
        if path is None:  # in-memory: one process by definition
            return FileLeases(Path.cwd(), ".eventkit-memory")
        return FileLeases(path.resolve().parent, path.name)
    return PostgresLeases(url)
