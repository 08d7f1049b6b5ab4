"""Where a group commit runs: in a thread of this process, or in the writer process.

The writer process (``eventkit.ingest.writerd``) owns the database connection for a
whole node: it does not compete with the event loop for this process's GIL, it uses
another core, and several server workers share one SQLite writer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from eventkit.capture.schema import CanonicalEvent
from eventkit.errors import (
    DatabaseUnavailableError,
    EventKitError,
    InvalidRequestError,
    MigrationError,
    StorageError,
)
from eventkit.ingest import wire
from eventkit.lifetime import orphaned
from eventkit.storage.events import EventStore
from eventkit.storage.users import ProfileOp

__all__ = ["Committer", "LocalCommitter", "RemoteCommitter"]

#: Errors the writer process reports by code (others arrive as StorageError).
_ERRORS: dict[str, type[EventKitError]] = {
    "database_unavailable": DatabaseUnavailableError,
    "migration_error": MigrationError,
    "invalid_request": InvalidRequestError,
}


class Committer(Protocol):
    """Commits a group of events and identify operations, exactly once each."""

    #: How many groups the group-commit writer may have in flight at once.
    parallel: int

    async def commit(
        self, events: Sequence[CanonicalEvent], ops: Sequence[ProfileOp]
    ) -> list[bool]:
        """Per event: True if stored now, False if already stored."""

    async def close(self) -> None:
        """Release resources."""


class LocalCommitter:
    """Runs ``EventStore.write`` in a dedicated thread of this process."""

    #: One thread, one transaction at a time: a second group would only wait in line.
    parallel = 1

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="eventkit-writer")

    async def commit(
        self, events: Sequence[CanonicalEvent], ops: Sequence[ProfileOp]
    ) -> list[bool]:
        """Write in the writer thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self.store.write, events, ops)

    async def close(self) -> None:
        """Wait for the thread to finish."""
        self._executor.shutdown(wait=True)


class RemoteCommitter:
    """Sends each group to the node's writer process over a Unix socket.

    Up to ``parallel`` groups are in flight, each on its own connection: the next group
    already waits in the writer process while the previous one commits, so the writer
    never idles for a round trip through this process's (busy) event loop.
    """

    parallel = 2

    def __init__(self, socket_path: str) -> None:
        self.socket_path = socket_path
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._slots = asyncio.Semaphore(self.parallel)

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._idle:
            return self._idle.pop()
        try:
            return await asyncio.open_unix_connection(self.socket_path, limit=2**26)
        except OSError as exc:
            if orphaned():
                raise DatabaseUnavailableError(
                    f"the writer process is not reachable ({exc.strerror}) and the server's "
                    "main process has ended, so nothing restarts it: this worker is "
                    "stopping; retry against a restarted server"
                ) from None
            raise DatabaseUnavailableError(
                f"the writer process is not reachable ({exc.strerror}); the main process "
                "restarts it, retry shortly"
            ) from None

    async def commit(
        self, events: Sequence[CanonicalEvent], ops: Sequence[ProfileOp]
    ) -> list[bool]:
        """Send one request and wait for the writer's verdict.

        Raises:
            StorageError: nothing was stored, or (connection lost mid-request) the
                outcome is unknown; a retry is safe because ingest is idempotent.
        """
        async with self._slots:
            reader, writer = await self._connect()
            try:
                writer.write(wire.encode_batch(events, ops))
                await writer.drain()
                (size,) = wire.HEADER.unpack(await reader.readexactly(wire.HEADER.size))
                response = wire.decode_response(await reader.readexactly(size))
            except (OSError, asyncio.IncompleteReadError):
                writer.close()
                raise DatabaseUnavailableError(
                    "lost the connection to the writer process; retry (retried events are "
                    "deduplicated)"
                ) from None
            except BaseException:
                writer.close()  # cancelled mid-request: the stream is out of step
                raise
            self._idle.append((reader, writer))
        if response.error is not None:
            raise _ERRORS.get(response.code or "", StorageError)(response.error)
        return response.new

    async def close(self) -> None:
        """Close the connections (after the commits in flight finished)."""
        for _ in range(self.parallel):
            await self._slots.acquire()
        while self._idle:
            self._idle.pop()[1].close()
