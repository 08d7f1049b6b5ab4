"""The durable spool: acknowledged events wait here while the database cannot take them.

When a group commit fails because the database is unreachable (or takes longer than
``spool.after_seconds``), the writer appends the group to the spool, fsyncs it, and only
then acknowledges the requests. A drainer replays the spool into the database in order
once it answers again; replays go through the normal write path, so an event stored
twice (a slow commit that succeeded after all, a drain interrupted by a crash) is
reported as a duplicate and kept once.

On disk the spool is a directory of segment files, ``<time_ns>-<pid>.spool``. Each
record is ``length (4 bytes) · crc32 (4) · spooled_at_us (8) · events (4) · body``,
where the body is the writer-process wire request (``eventkit.ingest.wire``). A process
holds an exclusive ``flock`` on each segment it writes until the segment is replayed
and deleted, so several workers (or nodes sharing a directory) never replay the same
segment twice; the segments of a process that died are unlocked and any live process
claims them.
A torn last record (the process died mid-append) was never fsynced, hence never
acknowledged, and is skipped.

Nothing here runs while the database is healthy: the spool costs nothing on the hot
path until the first failed commit.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import fcntl
import logging
import os
import struct
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from eventkit.errors import SpoolFullError

__all__ = ["Segment", "Spool", "read_records"]

log = logging.getLogger("eventkit.spool")

RECORD = struct.Struct(">IIqI")
SUFFIX = ".spool"


@dataclass
class Segment:
    """One spool file this process holds the lock on."""

    path: Path
    file: BinaryIO = field(repr=False)
    bytes: int = 0
    records: int = 0
    events: int = 0
    #: Epoch microseconds of the first record (None while empty or not yet read).
    first_at: int | None = None
    #: Records and events already replayed (skipped when a drain is retried).
    replayed: int = 0
    replayed_events: int = 0

    def close(self) -> None:
        """Release the lock (closing the file releases the flock)."""
        with contextlib.suppress(OSError):
            self.file.close()


def read_records(path: Path) -> list[tuple[int, int, bytes]]:
    """``(spooled_at_us, events, body)`` of every complete record of a segment, in order.

    Stops at the first torn or corrupt record: it was never fsynced, so never
    acknowledged.
    """
    data = path.read_bytes()
    out: list[tuple[int, int, bytes]] = []
    pos = 0
    while pos + RECORD.size <= len(data):
        length, crc, at, events = RECORD.unpack_from(data, pos)
        body = data[pos + RECORD.size : pos + RECORD.size + length]
        if len(body) < length or zlib.crc32(body) != crc:
            log.warning("spool segment %s: ignoring a torn record at byte %d", path.name, pos)
            break
        out.append((at, events, body))
        pos += RECORD.size + length
    return out


def _lock(file: BinaryIO) -> bool:
    try:
        fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Spool:
    """The segments of one process, plus orphans it claimed from dead processes.

    Blocking methods (``append``, ``claim_orphans``, ``remove``) are called from a
    worker thread; the counters are read by the event loop for metrics and /readyz.
    """

    def __init__(self, directory: Path, *, max_bytes: int, segment_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        self._active: Segment | None = None
        #: Own segments that are full or rotated, oldest first, waiting for replay.
        self._sealed: list[Segment] = []
        #: Segments of dead processes this process claimed, oldest first.
        self._orphans: list[Segment] = []
        #: Bytes of other processes' segments at the last scan.
        self._foreign_bytes = 0
        #: Orders a claim running in a worker thread against :meth:`close`: a claim
        #: still running when the writer stops must not lock a segment after the
        #: close released it (the next writer could never replay it).
        self._claim_lock = threading.Lock()
        self._closed = False

    # -- state -----------------------------------------------------------------------

    @property
    def segments(self) -> list[Segment]:
        """Every segment waiting for replay, oldest first (the active one last)."""
        active = [self._active] if self._active is not None and self._active.records else []
        return [*self._orphans, *self._sealed, *active]

    @property
    def own_pending(self) -> bool:
        """True while this process has spooled events not yet replayed: new groups must
        then go to the spool too, so the database receives them in order."""
        return bool(self._sealed) or (self._active is not None and self._active.records > 0)

    @property
    def events(self) -> int:
        """Events waiting for replay (claimed segments included)."""
        return sum(s.events - s.replayed_events for s in self.segments)

    @property
    def bytes(self) -> int:
        """Bytes on disk: this process's segments and those of the others."""
        return sum(s.bytes for s in self.segments) + self._foreign_bytes

    def oldest_age(self, now_us: int | None = None) -> float:
        """Seconds since the oldest waiting record was spooled (0 when empty)."""
        firsts = [s.first_at for s in self.segments if s.first_at is not None]
        if not firsts:
            return 0.0
        now = now_us if now_us is not None else time.time_ns() // 1000
        return max(0.0, (now - min(firsts)) / 1_000_000)

    # -- writing ---------------------------------------------------------------------

    def _open_segment(self) -> Segment:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{time.time_ns():020d}-{os.getpid()}{SUFFIX}"
        file = path.open("ab")
        if not _lock(file):  # pragma: no cover - a fresh name nobody else knows
            file.close()
            raise OSError(errno.EBUSY, f"spool segment {path} is locked")
        _fsync_dir(self.directory)
        return Segment(path=path, file=file)

    def append(self, body: builtins.bytes, events: int) -> None:
        """Append one group and fsync it; only then may its requests be acknowledged.

        Raises:
            SpoolFullError: ``spool.max_bytes`` would be exceeded or the disk is full;
                nothing was kept.
        """
        size = RECORD.size + len(body)
        if self.bytes + size > self.max_bytes:
            raise SpoolFullError(
                f"the database is unavailable and the local spool is full "
                f"({self.bytes} bytes, spool.max_bytes); retry later",
                retry_after=5,
            )
        active = self._active
        if active is None or (active.bytes + size > self.segment_bytes and active.records):
            if active is not None:
                self._sealed.append(active)
            active = self._active = self._open_segment()
        at = time.time_ns() // 1000
        record = RECORD.pack(len(body), zlib.crc32(body), at, events) + body
        try:
            active.file.write(record)
            active.file.flush()
            os.fsync(active.file.fileno())
        except OSError as exc:
            # Cut the partial record so the segment stays readable.
            with contextlib.suppress(OSError):
                active.file.truncate(active.bytes)
                os.fsync(active.file.fileno())
            raise SpoolFullError(
                f"the database is unavailable and the spool cannot be written "
                f"({exc.strerror}); retry later",
                retry_after=5,
            ) from None
        active.bytes += size
        active.records += 1
        active.events += events
        if active.first_at is None:
            active.first_at = at

    def seal(self) -> None:
        """Close the active segment for replay; the next append opens a new one."""
        if self._active is not None and self._active.records:
            self._sealed.append(self._active)
            self._active = None

    # -- replay ----------------------------------------------------------------------

    def claim_orphans(self) -> None:
        """Lock the segments of processes that died, and note others' sizes (nothing
        once the spool is closed)."""
        with self._claim_lock:
            if not self._closed:
                self._claim_orphans()

    def _claim_orphans(self) -> None:
        if not self.directory.is_dir():
            self._foreign_bytes = 0
            return
        mine = {s.path for s in self.segments} | (
            {self._active.path} if self._active is not None else set()
        )
        foreign = 0
        for path in sorted(self.directory.glob(f"*{SUFFIX}")):
            if path in mine:
                continue
            try:
                file = path.open("r+b")
            except FileNotFoundError:
                continue  # replayed and removed meanwhile
            if not _lock(file):
                with contextlib.suppress(OSError):
                    foreign += path.stat().st_size
                file.close()
                continue
            if not path.exists():  # removed between open and lock
                file.close()
                continue
            records = read_records(path)
            segment = Segment(
                path=path,
                file=file,
                bytes=path.stat().st_size,
                records=len(records),
                events=sum(r[1] for r in records),
                first_at=records[0][0] if records else None,
            )
            log.warning("claimed spool segment %s of a process that died", path.name)
            self._orphans.append(segment)
        self._foreign_bytes = foreign

    def next_segment(self) -> Segment | None:
        """The oldest segment to replay (orphans first), sealing the active one if it
        is the only one left."""
        if self._orphans:
            return self._orphans[0]
        if not self._sealed:
            self.seal()
        return self._sealed[0] if self._sealed else None

    def remove(self, segment: Segment) -> None:
        """Delete a replayed segment and release it."""
        with contextlib.suppress(FileNotFoundError):
            segment.path.unlink()
        segment.close()
        for queue in (self._orphans, self._sealed):
            if segment in queue:
                queue.remove(segment)

    @property
    def rejected_dir(self) -> Path:
        """Where records the database refuses for good are set aside."""
        return self.directory / "rejected"

    def reject(self, segment: Segment, body: builtins.bytes, reason: str) -> Path:
        """Set one record aside (fsynced) that the database refuses for good, so the
        replay moves on: ``rejected/<segment>-<record>.json`` holds the record's wire
        body, and a ``.reason`` file beside it says why."""
        self.rejected_dir.mkdir(parents=True, exist_ok=True)
        path = self.rejected_dir / f"{segment.path.stem}-{segment.replayed}.json"
        with path.open("wb") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        path.with_suffix(".reason").write_text(reason + "\n")
        _fsync_dir(self.rejected_dir)
        return path

    def close(self) -> None:
        """Release every segment; what was not replayed stays on disk for the next
        start (or another live process) to claim."""
        with self._claim_lock:
            self._closed = True
        for s in self.segments:
            s.close()
        if self._active is not None:
            self._active.close()
            if not self._active.records:
                with contextlib.suppress(OSError):
                    self._active.path.unlink()
        self._active = None
        self._sealed.clear()
        self._orphans.clear()

    def pending_records(self, segment: Segment) -> list[tuple[int, builtins.bytes]]:
        """``(events, body)`` of the segment's records not replayed yet."""
        return [(n, body) for _, n, body in read_records(segment.path)[segment.replayed :]]
