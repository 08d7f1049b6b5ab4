"""The group-commit writer.

Requests hand their validated events to one writer task. While a transaction is being
committed, new requests queue up; the next transaction takes all of them. One fsync
then acknowledges many requests, which is what makes durable single-event requests
fast. A request's future resolves only after its transaction committed.
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
from eventkit.errors import EventKitError, OverloadedError, StorageError
from eventkit.ingest.committers import Committer, LocalCommitter
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


class GroupCommitWriter:
    """Group-commits events from all concurrent requests of this process."""

    def __init__(
        self, store: EventStore | Committer, settings: IngestSettings, metrics: Metrics
    ) -> None:
        self.committer: Committer = (
            LocalCommitter(store) if isinstance(store, EventStore) else store
        )
        self.settings = settings
        self.metrics = metrics
        self._pending: list[_Pending] = []
        self._queued = 0
        self._wake = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        #: The error of the last commit if it failed (cleared by the next success).
        self.last_error: str | None = None

    @property
    def queued_events(self) -> int:
        """Events waiting for a commit."""
        return self._queued

    def start(self) -> None:
        """Start the writer task on the running loop."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name="eventkit-writer")

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
        self._pending.append(_Pending(events, ops, future))
        self._queued += len(events) or 1
        self.metrics.queue_depth.set(self._queued)
        self._wake.set()
        try:
            # A cancelled or timed-out request only stops waiting: its events stay in the
            # batch (the writer skips futures that are already done).
            async with asyncio.timeout(self.settings.commit_timeout_seconds):
                return await future
        except TimeoutError:
            raise OverloadedError(
                "the database did not commit within ingest.commit_timeout_seconds; "
                "retry (retried events are deduplicated)",
                retry_after=5,
            ) from None

    def _take(self) -> list[_Pending]:
        return take_group(
            self._pending, self.settings.flush_max_events, lambda p: len(p.events) or 1
        )

    async def _run(self) -> None:
        while True:
            if not self._pending:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            batch = self._take()
            events = [e for p in batch for e in p.events]
            ops = [o for p in batch for o in p.ops]
            started = time.perf_counter()
            try:
                new = await self.committer.commit(events, ops)
            except Exception as exc:  # every failure reaches the waiting requests
                self.metrics.commit_failures.inc()
                self.last_error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                err = (
                    exc if isinstance(exc, EventKitError) else StorageError(f"commit failed: {exc}")
                )
                log.error("group commit of %d events failed: %s", len(events), err)
                for p in batch:
                    if not p.future.done():
                        p.future.set_exception(err)
            else:
                self.last_error = None
                self.metrics.commit_latency.observe(time.perf_counter() - started)
                self.metrics.commit_events.observe(len(events))
                offset = 0
                for p in batch:
                    if not p.future.done():
                        p.future.set_result(new[offset : offset + len(p.events)])
                    offset += len(p.events)
            finally:
                self._queued -= sum(len(p.events) or 1 for p in batch)
                self.metrics.queue_depth.set(self._queued)

    async def stop(self) -> None:
        """Refuse new work, commit everything already queued, then stop."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.committer.close()
