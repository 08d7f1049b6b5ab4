"""The client's outbox: a bounded queue in a SQLite file that survives restarts.

Offline-first: every tracked call is written here before anything is sent, and removed
only once the server acknowledged it. When the queue is full the OLDEST items are
dropped and counted (``dropped`` persists with the queue), so a device that stays
offline keeps its most recent activity.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

__all__ = ["Outbox"]

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, "
    "kind TEXT NOT NULL, body TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
)


class Outbox:
    """A FIFO of ``(kind, body)`` items, at most ``max_items`` long.

    ``path=None`` keeps the queue in memory (lost on exit). Safe to use from several
    threads.
    """

    def __init__(self, path: str | Path | None, max_items: int = 10_000) -> None:
        if max_items < 1:
            raise ValueError("max_items must be at least 1")
        self.max_items = max_items
        self.path = Path(path).expanduser() if path is not None else None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(
            str(self.path) if self.path is not None else ":memory:",
            check_same_thread=False,
            isolation_level=None,
        )
        self._lock = threading.Lock()
        with self._lock:
            if self.path is not None:
                self._db.execute("PRAGMA journal_mode=WAL")
                # WAL + NORMAL: a committed put survives the process crashing or being
                # killed (restarts); only an OS crash or power loss may lose the last
                # few. FULL would cost an fsync per tracked call.
                self._db.execute("PRAGMA synchronous=NORMAL")
            for stmt in _SCHEMA:
                self._db.execute(stmt)

    def put(self, items: list[tuple[str, dict[str, Any]]]) -> int:
        """Append items durably; returns how many old items were dropped to make room."""
        if not items:
            return 0
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT INTO outbox (kind, body) VALUES (?, ?)",
                    [(kind, json.dumps(body, default=str)) for kind, body in items],
                )
                (count,) = self._db.execute("SELECT count(*) FROM outbox").fetchone()
                over = max(0, int(count) - self.max_items)
                if over:
                    self._db.execute(
                        "DELETE FROM outbox WHERE id IN "
                        "(SELECT id FROM outbox ORDER BY id LIMIT ?)",
                        (over,),
                    )
                    self._db.execute(
                        "INSERT INTO counters (name, value) VALUES ('dropped', ?) "
                        "ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
                        (over,),
                    )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return over

    def peek(self, limit: int) -> list[tuple[int, str, dict[str, Any]]]:
        """The oldest ``limit`` items as ``(id, kind, body)``, without removing them."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, kind, body FROM outbox ORDER BY id LIMIT ?", (limit,)
            ).fetchall()
        return [(i, kind, json.loads(body)) for i, kind, body in rows]

    def remove(self, ids: list[int]) -> None:
        """Delete acknowledged items."""
        if not ids:
            return
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany("DELETE FROM outbox WHERE id = ?", [(i,) for i in ids])
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def __len__(self) -> int:
        with self._lock:
            (count,) = self._db.execute("SELECT count(*) FROM outbox").fetchone()
        return int(count)

    @property
    def dropped(self) -> int:
        """Items dropped because the queue was full, over the queue file's lifetime."""
        with self._lock:
            row = self._db.execute("SELECT value FROM counters WHERE name = 'dropped'").fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        """Close the file (items stay for the next start)."""
        with self._lock:
            self._db.close()
