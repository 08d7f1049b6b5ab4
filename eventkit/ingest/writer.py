"""The group-commit writer.

Requests hand their validated events to one writer task. While a transaction is being
committed, new requests queue up; the next transaction takes all of them. One fsync
then acknowledges many requests, which is what makes durable single-event requests
fast. A request's future resolves only after its transaction committed.

With a spool (``eventkit.ingest.spool``), a group whose commit fails because the
database is unreachable, or takes longer than ``spool.after_seconds``, is fsynced to the
spool instead and acknowledged from there; while this process has spooled events, later
groups follow them into the spool, and a drainer task replays the spool in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from eventkit.capture.schema import CanonicalEvent
from eventkit.config import IngestSettings
from eventkit.errors import (
    DatabaseUnavailableError,
    EventKitError,
    InvalidRequestError,
    OverloadedError,
    StorageError,
)
from eventkit.ingest import wire
from eventkit.ingest.committers import Committer, LocalCommitter
from eventkit.ingest.spool import Segment, Spool
from eventkit.metrics import Metrics
from eventkit.storage.events import EventStore
from eventkit.storage.users import ProfileOp

__all__ = ["GroupCommitWriter", "take_group"]

T = TypeVar("T")

log = logging.getLogger("eventkit.writer")


def take_group(pending: list[T], limit: int, size: Callable[[T], int]) -> list[T]:
    """Remove and return the oldest queued requests that fit in one commit of ``limit``
    events (at least one request, however large): the group-commit batching rule, shared
    by the in-process writer and the writer process."""
    count = n = 0
    for item in pending:
        k = size(item)
        if n and count + k > limit:
            break
        count += k
        n += 1
    group = pending[:n]
    del pending[:n]
    return group


@dataclass
class _Pending:
    events: Sequence[CanonicalEvent]
    ops: Sequence[ProfileOp]
    future: asyncio.Future[list[bool]] = field(repr=False)
    #: ``time.monotonic()`` after which the request stops waiting (503).
    deadline: float = 0.0


class GroupCommitWriter:
    """Group-commits events from all concurrent requests of this process."""

    def __init__(
        self,
        store: EventStore | Committer,
        settings: IngestSettings,
        metrics: Metrics,
        *,
        spool: Spool | None = None,
        spool_after_seconds: float = 5.0,
    ) -> None:
        self.committer: Committer = (
            LocalCommitter(store) if isinstance(store, EventStore) else store
        )
        self.settings = settings
        self.metrics = metrics
        self._pending: list[_Pending] = []
        #: Groups handed to the committer and not finished yet.
        self._in_flight: list[list[_Pending]] = []
        self._queued = 0
        metrics.queue_depth.set_function(lambda: self._queued)
        self._wake = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self._watchdog: asyncio.Task[None] | None = None
        #: The error of the last commit if it failed (cleared by the next success).
        self.last_error: str | None = None
        self.spool = spool
        self.spool_after_seconds = spool_after_seconds
        self._drainer: asyncio.Task[None] | None = None
        self._drain_wake = asyncio.Event()
        # Appends, sealing and claiming never overlap (appends run in a thread).
        self._spool_lock = asyncio.Lock()
        #: Why the last replay of the spool failed (None once it succeeds).
        self.drain_error: str | None = None
        if spool is not None:
            metrics.watch_spool(spool)

    @property
    def queued_events(self) -> int:
        """Events waiting for a commit."""
        return self._queued

    def start(self) -> None:
        """Start the writer task on the running loop."""
        loop = asyncio.get_running_loop()
        self._task = loop.create_task(self._run(), name="eventkit-writer")
        self._watchdog = loop.create_task(self._expire_loop(), name="eventkit-writer-watchdog")
        if self.spool is not None:
            self._drainer = loop.create_task(self._drain_loop(), name="eventkit-spool-drainer")

    async def submit(
        self, events: Sequence[CanonicalEvent], ops: Sequence[ProfileOp] = ()
    ) -> list[bool]:
        """Queue events for the next commit and wait until it is durable.

        Returns:
            Per event, True if stored now, False if it was already stored.

        Raises:
            OverloadedError: shutting down, the queue is full, or the commit took
                longer than ``ingest.commit_timeout_seconds``; retry later.
            StorageError: the commit failed; nothing of this request was stored.
        """
        if self._closing or self._task is None:
            raise OverloadedError("the server is shutting down; retry shortly", retry_after=2)
        if self._queued + len(events) > self.settings.queue_max_events and self._queued:
            raise OverloadedError(
                f"the write queue holds {self._queued} events (ingest.queue_max_events); "
                "retry shortly",
                retry_after=1,
            )
        future: asyncio.Future[list[bool]] = asyncio.get_running_loop().create_future()
        # If this request gives up waiting, nobody else reads the outcome.
        future.add_done_callback(lambda f: f.cancelled() or f.exception())
        deadline = time.monotonic() + self.settings.commit_timeout_seconds
        self._pending.append(_Pending(events, ops, future, deadline))
        self._queued += len(events) or 1
        self._wake.set()
        # A request that times out (see _expire_loop) or is cancelled only stops
        # waiting: its events stay in their group (the writer skips futures already done).
        return await future

    async def _expire_loop(self) -> None:
        """Answer 503 to requests still waiting at their deadline: one timer for the
        writer, not one per request (this is the hot path)."""
        interval = min(1.0, self.settings.commit_timeout_seconds / 4)
        while True:
            await asyncio.sleep(interval)
            now = time.monotonic()
            for group in (self._pending, *self._in_flight):
                for p in group:
                    if p.deadline <= now and not p.future.done():
                        p.future.set_exception(
                            OverloadedError(
                                "the database did not commit within "
                                "ingest.commit_timeout_seconds; retry (retried events are "
                                "deduplicated)",
                                retry_after=5,
                            )
                        )

    def _take(self) -> list[_Pending]:
        return take_group(
            self._pending, self.settings.flush_max_events, lambda p: len(p.events) or 1
        )

    async def _run(self) -> None:
        # Up to committer.parallel groups in flight. A new group is taken only when a
        # slot is free: while every slot is busy, arriving requests join the next group.
        slots = asyncio.Semaphore(self.committer.parallel)
        in_flight: set[asyncio.Task[None]] = set()

        def finished(task: asyncio.Task[None]) -> None:
            in_flight.discard(task)
            slots.release()

        try:
            while True:
                if not self._pending:
                    if self._closing:
                        return
                    self._wake.clear()
                    await self._wake.wait()
                    continue
                await slots.acquire()
                task = asyncio.get_running_loop().create_task(self._process(self._take()))
                in_flight.add(task)
                task.add_done_callback(finished)
        finally:
            if in_flight:
                await asyncio.gather(*in_flight, return_exceptions=True)

    async def _process(self, batch: list[_Pending]) -> None:
        events = [e for p in batch for e in p.events]
        ops = [o for p in batch for o in p.ops]
        self._in_flight.append(batch)
        try:
            if self.spool is not None and self.spool.own_pending:
                # Behind events already spooled: keep the order.
                await self._to_spool(batch, events, ops)
            else:
                await self._commit(batch, events, ops)
        finally:
            self._in_flight.remove(batch)
            self._queued -= sum(len(p.events) or 1 for p in batch)

    async def _commit(
        self, batch: list[_Pending], events: list[CanonicalEvent], ops: list[ProfileOp]
    ) -> None:
        started = time.perf_counter()
        try:
            if self.spool is None:
                new = await self.committer.commit(events, ops)
            else:
                attempt = asyncio.ensure_future(self.committer.commit(events, ops))
                try:
                    new = await asyncio.wait_for(asyncio.shield(attempt), self.spool_after_seconds)
                except TimeoutError:
                    # The commit goes on and may still succeed: the spooled copy then
                    # replays as duplicates, stored once.
                    attempt.add_done_callback(lambda f: f.cancelled() or f.exception())
                    self._note_failure("commit slower than spool.after_seconds")
                    await self._to_spool(batch, events, ops)
                    return
        except DatabaseUnavailableError as exc:
            if self.spool is None:
                self._fail(batch, events, exc)
                return
            self._note_failure(exc.message)
            await self._to_spool(batch, events, ops)
            return
        except Exception as exc:  # every failure reaches the waiting requests
            if len(batch) > 1 and not isinstance(exc, OverloadedError):
                # The database refused the group's data (not its availability): commit
                # each request alone, so one bad request cannot fail the others.
                await self._commit_each(batch)
                return
            self._fail(batch, events, exc, alone=True)
            return
        self.last_error = None
        self.metrics.commit_latency.observe(time.perf_counter() - started)
        self.metrics.commit_events.observe(len(events))
        offset = 0
        for p in batch:
            if not p.future.done():
                p.future.set_result(new[offset : offset + len(p.events)])
            offset += len(p.events)

    def _note_failure(self, message: str) -> None:
        self.metrics.commit_failures.inc()
        self.last_error = message.splitlines()[0] if message else "commit failed"

    async def _commit_each(self, batch: list[_Pending]) -> None:
        for p in batch:
            try:
                new = await self.committer.commit(p.events, p.ops)
            except Exception as exc:
                self._fail([p], list(p.events), exc, alone=True)
            else:
                if not p.future.done():
                    p.future.set_result(new)

    def _fail(
        self,
        batch: list[_Pending],
        events: Sequence[CanonicalEvent],
        exc: Exception,
        *,
        alone: bool = False,
    ) -> None:
        """Fail the requests of ``batch``. Nothing of them was stored, so a retry is
        safe: they get a 503, except a request that failed ``alone`` with an eventkit
        error about its own data (e.g. 400 for a NUL character PostgreSQL refuses)."""
        self._note_failure(str(exc) or type(exc).__name__)
        keep = EventKitError if alone else (StorageError, OverloadedError)
        err = (
            exc
            if isinstance(exc, keep)
            else StorageError(f"commit failed: {getattr(exc, 'message', exc)}")
        )
        log.error("group commit of %d events failed: %s", len(events), err)
        for p in batch:
            if not p.future.done():
                p.future.set_exception(err)

    async def _to_spool(
        self, batch: list[_Pending], events: list[CanonicalEvent], ops: list[ProfileOp]
    ) -> None:
        """fsync the group to the spool, then acknowledge it (every event as new: whether
        one is a duplicate is known only when it is replayed)."""
        assert self.spool is not None
        body = wire.encode_request(events, ops)[wire.HEADER.size :]
        try:
            async with self._spool_lock:
                await asyncio.to_thread(self.spool.append, body, len(events))
        except OverloadedError as exc:
            log.error("could not spool %d events: %s", len(events), exc.message)
            for p in batch:
                if not p.future.done():
                    p.future.set_exception(exc)
            return
        self.metrics.spooled_events.inc(len(events))
        self._drain_wake.set()
        for p in batch:
            if not p.future.done():
                p.future.set_result([True] * len(p.events))

    async def _drain_loop(self) -> None:
        """Replay the spool whenever it holds something, backing off while the database
        stays unavailable; also claims the segments of processes that died."""
        assert self.spool is not None
        spool = self.spool
        backoff = 0.2
        while True:
            try:
                async with self._spool_lock:
                    await asyncio.to_thread(spool.claim_orphans)
                while True:
                    async with self._spool_lock:
                        segment = spool.next_segment()
                    if segment is None:
                        break
                    await self._replay(segment)
                self.drain_error = None
                backoff = 0.2
            except Exception as exc:  # the database is still away, or a bad segment
                message = exc.message if isinstance(exc, EventKitError) else repr(exc)
                if self.drain_error is None:
                    log.warning("spool replay failed, retrying: %s", message)
                self.drain_error = message.splitlines()[0]
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            self._drain_wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._drain_wake.wait(), timeout=2.0)

    async def _replay(self, segment: Segment) -> None:
        assert self.spool is not None
        records = await asyncio.to_thread(self.spool.pending_records, segment)
        limit = self.settings.flush_max_events
        while records:
            group = take_group(records, limit, lambda r: r[0] or 1)
            try:
                await self._replay_group(segment, group)
            except InvalidRequestError:
                # The database refuses some record's data for good (e.g. a NUL
                # character on PostgreSQL): replay one by one and set that one aside.
                for record in group:
                    try:
                        await self._replay_group(segment, [record])
                    except InvalidRequestError as exc:
                        await asyncio.to_thread(self.spool.reject, segment, record[1], exc.message)
                        log.error(
                            "spooled events the database refuses were set aside in %s: %s",
                            self.spool.rejected_dir,
                            exc.message,
                        )
                        segment.replayed += 1
                        segment.replayed_events += record[0]
                        self.metrics.rejected_events.inc(record[0])
        async with self._spool_lock:
            await asyncio.to_thread(self.spool.remove, segment)
        log.info("replayed spool segment %s (%d events)", segment.path.name, segment.events)

    async def _replay_group(self, segment: Segment, group: list[tuple[int, bytes]]) -> None:
        requests = [wire.decode_request(body) for _, body in group]
        events = [e for r in requests for e in r.events]
        ops = [o for r in requests for o in r.ops]
        new = await self.committer.commit(events, ops)
        segment.replayed += len(group)
        segment.replayed_events += len(events)
        self.metrics.replayed_events.inc(len(events))
        self.metrics.replayed_duplicates.inc(len(new) - sum(new))
        self.last_error = None

    async def stop(self) -> None:
        """Refuse new work, commit (or spool) everything already queued, then stop.

        What the spool still holds stays on disk; the next start replays it.
        """
        self._closing = True
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
        if self._drainer is not None:
            self._drainer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._drainer
        await self.committer.close()
        if self.spool is not None:
            self.spool.close()
