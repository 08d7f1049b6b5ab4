"""What the HTTP layer calls: cached evaluators, ETags and exposure recording.

Kept free of any web framework: ``FlagService`` takes an app id and a context dict and
returns evaluations; exposures are handed to an async ``submit`` callable, the ingest
service's ``store_server_events`` on a server, so they pass the same pipeline as every
other event (tombstones, scrubbing, sinks, metrics).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import msgspec
from sqlalchemy.engine import Engine

from eventkit.capture.schema import CanonicalEvent
from eventkit.flags.cache import EvaluatorCache
from eventkit.flags.evaluator import Evaluation, Evaluator
from eventkit.flags.exposure import exposure_event, exposure_subject
from eventkit.timeutil import now_us

__all__ = ["FlagService", "etag_of"]

log = logging.getLogger("eventkit.flags")

#: Exposure ids remembered per process (about 100 bytes each).
_RECENT_MAX = 200_000

Submit = Callable[[list[CanonicalEvent]], Awaitable[object]]


def etag_of(body: bytes) -> str:
    """A strong ETag for a response body."""
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """True when an If-None-Match header names ``etag`` (or is ``*``)."""
    if not if_none_match:
        return False
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" in tags or etag in tags


class FlagService:
    """Evaluates flags for API requests and records exposures in the background."""

    def __init__(self, engine: Engine, submit: Submit | None, check_interval: float = 1.0):
        self.cache = EvaluatorCache(engine, check_interval)
        self.submit = submit
        self._tasks: set[asyncio.Task[None]] = set()
        # Exposure ids submitted lately: the store would drop them as duplicates
        # anyway, but skipping them here saves a write per poll.
        self._recent: OrderedDict[tuple[int, str, str, str, int], None] = OrderedDict()

    async def evaluator(self, app_id: int) -> Evaluator:
        """The app's evaluator; touches the database at most once per interval."""
        hit = self.cache.fresh(app_id)
        if hit is not None:
            return hit
        return await asyncio.to_thread(self.cache.get, app_id)

    def record(
        self,
        app_id: int,
        evaluator: Evaluator,
        evals: Sequence[Evaluation],
        context: dict[str, Any],
    ) -> None:
        """Queue exposure events for ``evals`` (flags with exposures on) without waiting."""
        if self.submit is None:
            return
        at = now_us()
        who = exposure_subject(context)[2]
        if who is None:
            return
        day = at // 86_400_000_000
        events = []
        for ev in evals:
            if ev.variant is None or ev.error_code is not None:
                continue
            tag = (app_id, ev.key, ev.variant, who, day)
            if tag in self._recent:
                continue
            spec = evaluator.spec(ev.key)
            if spec is None or not spec.exposures:
                continue
            event = exposure_event(app_id, ev, context, at)
            if event is not None:
                self._recent[tag] = None
                events.append(event)
        while len(self._recent) > _RECENT_MAX:
            self._recent.popitem(last=False)
        if events:
            task = asyncio.get_running_loop().create_task(self._write(events))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for the exposures already handed over (the server calls this before its
        writer drains at shutdown)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _write(self, events: list[CanonicalEvent]) -> None:
        assert self.submit is not None
        try:
            await self.submit(events)
        except Exception as exc:  # exposures are best effort; evaluation already answered
            log.warning("could not record %d flag exposures: %s", len(events), exc)


def encode(obj: Any) -> bytes:
    """JSON bytes of ``obj``."""
    return msgspec.json.encode(obj)
