"""Exact deduplication keys, laid out by time so that writing them stays flat.

A stored event's key lives in ``event_keys`` as ``(bucket, app_id, event_id)``. The
bucket comes from the event itself, so a retry finds the first copy with one lookup:

- an event with a client timestamp: the minute of that timestamp. A retry carries the
  same ``event_id`` and the same timestamp (SDKs set both once, when the event is
  created), so it lands in the same bucket however late it comes;
- an event whose time eventkit had to supply (no client timestamp: ``timestamp`` equals
  ``received_at``): the UTC day of its arrival, in a family of buckets of its own. A
  retry of such an event looks in the buckets of the last ``SERVER_TIME_WINDOW_DAYS``
  days of arrivals.

Keys written in the same minute share a small region of the B-tree, so a key insert
touches the pages of the last minutes, whatever the history holds, and the history's
pages are never read for a fresh event (docs/architecture.md, docs/performance.md).

On SQLite the keys of the newest events are not written per commit at all: the
``KeyTail`` keeps them in memory (they are in ``events`` already) and merges them into
``event_keys`` in large sorted runs. ``dedup_state.merged_id`` is the arrival id up to
which ``event_keys`` holds every key; the tail is rebuilt from ``events`` above it.
"""

from __future__ import annotations

import itertools
import struct
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import bindparam, delete
from sqlalchemy.engine import Connection

from eventkit.storage.models import EVENT_KEYS

__all__ = [
    "BUCKET_US",
    "KEY_SIZE",
    "LEGACY_BUCKET",
    "SERVER_TIME_WINDOW_DAYS",
    "KeyTail",
    "bucket_of",
    "bucket_sql",
    "delete_keys",
    "probe_buckets",
]

#: Width of a client-time bucket: one minute.
BUCKET_US = 60_000_000
_DAY_US = 86_400_000_000
#: How far back (days of arrival) a retry of an event without a client time is found.
SERVER_TIME_WINDOW_DAYS = 7
#: Buckets of events without a client time: ``_SERVER_FAMILY - arrival day``.
_SERVER_FAMILY = -(1 << 40)
#: Keys migrated from before buckets whose event is gone (erased, or dropped with its
#: partition): they keep deduplicating, in one bucket of their own.
LEGACY_BUCKET = -(1 << 62)
_OFFSET = 1 << 63
_HEAD = struct.Struct(">QI")
_HEAD_SIZE = _HEAD.size
#: Bytes of a packed key: bucket (8), app id (4), event id (16).
KEY_SIZE = _HEAD_SIZE + 16
#: Ids per probe statement, largest first: a few fixed sizes keep the statement cache
#: small (a shorter list is padded by repeating its last id).
_PROBE_SIZES = (512, 128, 32, 8, 1)
_PROBE_SQL = {
    n: "SELECT event_id FROM event_keys WHERE bucket = ? AND app_id = ? "
    f"AND event_id IN ({','.join('?' * n)})"
    for n in _PROBE_SIZES
}


def _div(value: int, unit: int) -> int:
    """Integer division truncating toward zero, as SQLite and PostgreSQL divide."""
    return value // unit if value >= 0 else -(-value // unit)


def bucket_of(timestamp: int, received_at: int) -> int:
    """The bucket an event's key is stored under."""
    if timestamp == received_at:
        return _SERVER_FAMILY - _div(received_at, _DAY_US)
    return _div(timestamp, BUCKET_US)


def probe_buckets(timestamp: int, received_at: int) -> tuple[int, ...]:
    """Every bucket where an earlier copy of the event may be stored."""
    if timestamp == received_at:
        day = _div(received_at, _DAY_US)
        return tuple(_SERVER_FAMILY - (day - k) for k in range(SERVER_TIME_WINDOW_DAYS + 1))
    return (_div(timestamp, BUCKET_US),)


def bucket_sql(timestamp: str = '"timestamp"', received_at: str = "received_at") -> str:
    """``bucket_of`` as an SQL expression over two integer columns (both databases)."""
    return (
        f"CASE WHEN {timestamp} = {received_at} "
        f"THEN {_SERVER_FAMILY} - {received_at} / {_DAY_US} "
        f"ELSE {timestamp} / {BUCKET_US} END"
    )


def pack(bucket: int, app_id: int, event_id: bytes) -> bytes:
    """A key as bytes whose order is the order of ``(bucket, app_id, event_id)``."""
    return _HEAD.pack(bucket + _OFFSET, app_id) + event_id


def unpack(key: bytes) -> tuple[int, int, bytes]:
    """``(bucket, app_id, event_id)`` of a packed key."""
    bucket, app_id = _HEAD.unpack_from(key)
    return bucket - _OFFSET, app_id, key[_HEAD.size :]


def delete_keys(conn: Connection, rows: Iterable[Any]) -> None:
    """Delete the keys of events (rows with ``app_id``, ``event_id``, ``timestamp``,
    ``received_at``), e.g. when retention purges them."""
    params = [
        {"b": bucket_of(r.timestamp, r.received_at), "a": r.app_id, "e": r.event_id} for r in rows
    ]
    if params:
        k = EVENT_KEYS.c
        conn.execute(
            delete(EVENT_KEYS).where(
                k.bucket == bindparam("b"), k.app_id == bindparam("a"), k.event_id == bindparam("e")
            ),
            params,
        )


def _probe(raw: Any, bucket: int, app_id: int, ids: list[bytes]) -> list[bytes]:
    """The ids of ``ids`` that ``event_keys`` holds under ``(bucket, app_id)``."""
    found: list[bytes] = []
    ids.sort()  # sorted probes walk the index pages in order
    start = 0
    while start < len(ids):
        left = len(ids) - start
        size = next((n for n in _PROBE_SIZES if n <= left), 1)
        if left < _PROBE_SIZES[0] and size < left:
            size = min(n for n in _PROBE_SIZES if n >= left)  # pad up: one statement
        chunk = ids[start : start + size]
        chunk += [chunk[-1]] * (size - len(chunk))
        cur = raw.execute(_PROBE_SQL[size], (bucket, app_id, *chunk))
        found.extend(e for (e,) in cur.fetchall())
        start += size
    return found


class KeyTail:
    """The keys of the newest events, held in memory instead of in ``event_keys``
    (SQLite; one per ``EventStore``).

    Every write transaction first catches up with events other writers stored
    (``sync``); a commit adds its keys only once it succeeded (``added``). When the
    tail holds ``merge_at`` keys, the writer merges them into ``event_keys`` in the same
    transaction as its events (``merge``).
    """

    def __init__(self, merge_at: int) -> None:
        self.merge_at = merge_at
        self.keys: set[bytes] = set()
        #: The newest arrival id the tail reflects (None: load it at the next sync).
        self.seen_id: int | None = None
        #: ``dedup_state.merged_id`` as of the last sync.
        self.merged_id = 0
        #: Whether ``event_keys`` holds legacy keys (see ``LEGACY_BUCKET``).
        self.legacy = False

    def invalidate(self) -> None:
        """Forget everything: the next ``sync`` reloads from the database."""
        self.keys = set()
        self.seen_id = None

    def sync(self, raw: Any) -> None:
        """Catch up, inside the write transaction, with events stored since the last
        sync (by another writer, or before this process started)."""
        merged = int(raw.execute("SELECT merged_id FROM dedup_state").fetchone()[0])
        if self.seen_id is None or merged != self.merged_id:
            self.keys = set()
            self.seen_id = merged
            self.merged_id = merged
            self.legacy = (
                raw.execute(
                    "SELECT 1 FROM event_keys WHERE bucket = ? LIMIT 1", (LEGACY_BUCKET,)
                ).fetchone()
                is not None
            )
        cur = raw.execute(
            "SELECT id, app_id, event_id, timestamp, received_at FROM events WHERE id > ?",
            (self.seen_id,),
        )
        for id_, app_id, event_id, timestamp, received_at in cur:
            self.keys.add(pack(bucket_of(timestamp, received_at), app_id, event_id))
            self.seen_id = max(self.seen_id, id_)

    def classify(
        self, raw: Any, rows: Sequence[tuple[Any, ...]], keys: bytes
    ) -> tuple[list[int], list[bytes]]:
        """The rows to store: indexes of first occurrences in the batch that are not
        stored yet (in the tail or in ``event_keys``), with their packed keys.

        ``rows`` are ``events`` rows (``timestamp`` at 3, ``received_at`` at 5) and
        ``keys`` their packed keys, concatenated.
        """
        tail, legacy = self.keys, self.legacy
        first: set[bytes] = set()
        todo: list[int] = []
        todo_keys: list[bytes] = []
        probe: dict[bytes, dict[bytes, int]] = {}  # bucket+app prefix -> id -> todo index
        for i in range(len(rows)):
            key = keys[i * KEY_SIZE : (i + 1) * KEY_SIZE]
            if key in first:
                continue
            first.add(key)
            if key in tail:
                continue
            prefix, eid = key[:_HEAD_SIZE], key[_HEAD_SIZE:]
            n = len(todo)
            todo.append(i)
            todo_keys.append(key)
            probe.setdefault(prefix, {})[eid] = n
            row = rows[i]
            # An event with several possible buckets (no client time, or legacy keys).
            if (row[3] == row[5] or legacy) and self._elsewhere_in_tail(key, row, probe, n):
                todo.pop()
                todo_keys.pop()
        stored: set[int] = set()
        for prefix, ids in probe.items():
            bucket, app_id = _HEAD.unpack(prefix)
            found = _probe(raw, bucket - _OFFSET, app_id, list(ids))
            stored.update(ids[eid] for eid in found)
        if stored:
            kept = [n for n in range(len(todo)) if n not in stored]
            return [todo[n] for n in kept], [todo_keys[n] for n in kept]
        return todo, todo_keys

    def _elsewhere_in_tail(
        self,
        key: bytes,
        row: tuple[Any, ...],
        probe: dict[bytes, dict[bytes, int]],
        n: int,
    ) -> bool:
        """For an event stored under several possible buckets (no client time, or
        legacy keys exist): True if the tail holds it under another bucket; otherwise
        its other buckets are added to ``probe``."""
        bucket, app_id, eid = unpack(key)
        others = [b for b in probe_buckets(row[3], row[5]) if b != bucket]
        if self.legacy:
            others.append(LEGACY_BUCKET)
        if any(pack(b, app_id, eid) in self.keys for b in others):
            probe[key[:_HEAD_SIZE]].pop(eid)
            return True
        for b in others:
            probe.setdefault(_HEAD.pack(b + _OFFSET, app_id), {})[eid] = n
        return False

    def merge(self, raw: Any, new: Iterable[bytes], newest_id: int) -> bool:
        """If the tail (with the keys ``new`` of this commit) is full, insert it into
        ``event_keys`` in key order and move ``merged_id`` to ``newest_id``. Returns
        whether it did (then ``merged`` must follow the commit)."""
        new = list(new)
        if len(self.keys) + len(new) < self.merge_at:
            return False
        # Sorted and inserted a chunk at a time: the keys exist already, so the merge
        # costs one list of references, not a copy of the tail.
        ordered = sorted(itertools.chain(self.keys, new))
        for start in range(0, len(ordered), _MERGE_CHUNK):
            insert_keys(raw, [unpack(k) for k in ordered[start : start + _MERGE_CHUNK]])
        raw.execute("UPDATE dedup_state SET merged_id = ?", (newest_id,))
        return True

    def added(self, new: Iterable[bytes], newest_id: int, *, merged: bool) -> None:
        """Record a successful commit: its keys, or an empty tail after a merge."""
        assert self.seen_id is not None
        if merged:
            self.keys = set()
            self.merged_id = newest_id
        else:
            self.keys.update(new)
        self.seen_id = max(self.seen_id, newest_id)


#: Keys unpacked and inserted at a time by a merge.
_MERGE_CHUNK = 4096
#: Rows per multi-row INSERT of keys, largest first (each size's SQL is prepared once).
_KEY_CHUNKS = (512, 64, 8, 1)
_KEYS_INSERT = "INSERT OR IGNORE INTO event_keys (bucket, app_id, event_id) VALUES "
_sql_cache: dict[int, str] = {}


def insert_keys(raw: Any, rows: Sequence[tuple[int, int, bytes]]) -> None:
    """Insert keys (SQLite DBAPI connection), ignoring ones already there."""
    start = 0
    for size in _KEY_CHUNKS:
        sql = _sql_cache.get(size)
        if sql is None:
            sql = _sql_cache[size] = _KEYS_INSERT + ",".join(["(?,?,?)"] * size)
        while len(rows) - start >= size:
            raw.execute(sql, [v for row in rows[start : start + size] for v in row])
            start += size
