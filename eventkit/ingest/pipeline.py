"""The ingest pipeline: the stages every validated event passes through before storage.

Every protocol (native, compat adapters) ends in :meth:`CaptureService.store`, which
runs the pipeline on the request's validated events and hands what is left to the
group-commit writer. A stage may change an event (enrichment, scrubbing, IP handling),
reject it with a field-level reason (tracking plan in enforce mode), or drop it silently
(erased users, a plugin's decision).

Stages are listed in :data:`STAGES` as ``"module:factory"`` paths, in the order they
run. ``factory(settings, engine)`` returns the stage, or ``None`` when it has nothing to
do with these settings, so an unused feature costs nothing per event. A stage is a
callable ``stage(batch) -> None``, or an ``async`` one. Stages must not block the event
loop for long: look things up in caches refreshed in the background, not per event.
"""

from __future__ import annotations

import importlib
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine

from eventkit.capture.schema import CanonicalEvent
from eventkit.config import Settings
from eventkit.ingest.verdicts import Rejection, reasons
from eventkit.storage.users import ProfileOp

__all__ = ["STAGES", "Batch", "Pipeline", "Stage"]

log = logging.getLogger("eventkit.ingest")

#: Stage factories in run order. Feature areas add one line each.
STAGES: tuple[str, ...] = (
    # Deleted users' events and events past retention go first: nothing else sees them.
    "eventkit.privacy.stages:forget_stage",
    # Plugins' eventkit_validate_event and eventkit_enrich_event (full IP for GeoIP).
    "eventkit.ingest.plugin_stage:plugin_stage",
    "eventkit.tracking.stage:plan_stage",
    # Last: after enrichment (GeoIP needs the full address), properties are scrubbed and
    # the IP is dropped, reduced (the default) or kept, per app.
    "eventkit.privacy.stages:protect_stage",
)


@dataclass
class Batch:
    """The validated events of one request on their way to storage.

    ``positions[i]`` is the index of ``events[i]`` in the request, so a stage's
    rejection points at the event the client sent.
    """

    app_id: int
    source: str
    events: list[CanonicalEvent]
    positions: list[int]
    rejected: list[Rejection]
    #: Events dropped on purpose; they are reported as accepted and never stored.
    dropped: int = 0
    #: The request's User-Agent header, when it came over HTTP (for enrichers).
    user_agent: str | None = None
    #: Profile operations of identify-like events; each is applied only if its event
    #: is stored, and the privacy stage scrubs their traits like event properties.
    ops: list[ProfileOp] = field(default_factory=list)
    _gone: set[int] = field(default_factory=set)

    def reject(self, i: int, why: list[tuple[str, str]]) -> None:
        """Reject ``events[i]`` with field-level ``(field, message)`` reasons."""
        if i in self._gone:
            return
        self._gone.add(i)
        self.rejected.append(
            Rejection(
                index=self.positions[i],
                event_id=str(self.events[i].event_id),
                errors=reasons(why),
            )
        )

    def drop(self, i: int) -> None:
        """Drop ``events[i]`` without an error (it counts as accepted, is not stored)."""
        if i in self._gone:
            return
        self._gone.add(i)
        self.dropped += 1

    def compact(self) -> None:
        """Remove rejected and dropped events (the pipeline calls this between stages)."""
        if not self._gone:
            return
        keep = [i for i in range(len(self.events)) if i not in self._gone]
        self.events = [self.events[i] for i in keep]
        self.positions = [self.positions[i] for i in keep]
        self._gone.clear()
        self.rejected.sort(key=lambda r: r.index)


Stage = Callable[[Batch], None] | Callable[[Batch], Awaitable[None]]


class Pipeline:
    """The active stages for one server's settings."""

    def __init__(self, settings: Settings, engine: Engine | None = None) -> None:
        self.stages: list[tuple[str, Any, bool]] = []
        for path in STAGES:
            module, _, name = path.partition(":")
            factory = getattr(importlib.import_module(module), name)
            stage = factory(settings, engine)
            if stage is not None:
                call = stage if inspect.isfunction(stage) else type(stage).__call__
                is_async = inspect.iscoroutinefunction(call)
                self.stages.append((path, stage, is_async))

    async def run(self, batch: Batch) -> Batch:
        """Run every stage in order; the returned batch holds what is to be stored."""
        for _path, stage, is_async in self.stages:
            if not batch.events:
                break
            if is_async:
                await stage(batch)
            else:
                stage(batch)
            batch.compact()
        return batch
