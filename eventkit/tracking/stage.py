"""The tracking-plan stage of the ingest pipeline.

Per batch it looks up the app's compiled plan in a :class:`PolicyCache` (no database
read unless the refresh interval passed, and then in a thread). In ``warn`` mode
violating events are stored and counted; in ``enforce`` mode they are rejected with one
field-level reason per violation and counted, and the rest of the batch is stored.
Counts are kept in memory and flushed in a thread every ``tracking.flush_seconds``
(and at shutdown), so the hot path never writes per event.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import weakref
from typing import Any

from sqlalchemy.engine import Engine

from eventkit.capture.schema import as_dict
from eventkit.config import Settings
from eventkit.ingest.pipeline import Batch, Stage
from eventkit.storage.policies import PolicyCache
from eventkit.timeutil import now_us
from eventkit.tracking.store import Counts, load_compiled, record_violations
from eventkit.tracking.validator import CompiledPlan

__all__ = ["ViolationRecorder", "flush_all", "plan_stage"]

log = logging.getLogger("eventkit.tracking")

_OFF = CompiledPlan(mode="off")
_recorders: weakref.WeakSet[ViolationRecorder] = weakref.WeakSet()


class ViolationRecorder:
    """Violation counts of one process, waiting to be written."""

    def __init__(self, engine: Engine, flush_seconds: float) -> None:
        self.engine = engine
        self.flush_seconds = flush_seconds
        self._counts: Counts = {}
        self._lock = threading.Lock()
        self._last_flush = time.monotonic()
        self._flushing: asyncio.Task[None] | None = None
        _recorders.add(self)

    def add(self, app_id: int, name: str, kind: str, prop: str, example: str, at: int) -> None:
        """Count one violation."""
        key = (app_id, name, kind, prop)
        with self._lock:
            entry = self._counts.get(key)
            if entry is None:
                self._counts[key] = [1, at, at, example]
            else:
                entry[0] += 1
                entry[2] = at
                entry[3] = example

    def due(self) -> bool:
        """True when counts are waiting and the flush interval passed."""
        return bool(self._counts) and time.monotonic() - self._last_flush >= self.flush_seconds

    def flush(self) -> None:
        """Write the waiting counts (blocking); on failure they are kept for next time."""
        with self._lock:
            counts, self._counts = self._counts, {}
            self._last_flush = time.monotonic()
        if not counts:
            return
        try:
            record_violations(self.engine, counts)
        except Exception:
            log.exception("could not write %d tracking violation counts; retrying", len(counts))
            with self._lock:
                for key, (c, first, last, ex) in counts.items():
                    entry = self._counts.setdefault(key, [0, first, last, ex])
                    entry[0] += c
                    entry[1] = min(entry[1], first)

    async def flush_soon(self) -> None:
        """Flush in a thread, without making the current request wait."""
        if self._flushing is not None and not self._flushing.done():
            return
        if self.flush_seconds == 0:  # tests: write before answering
            await asyncio.to_thread(self.flush)
            return
        self._flushing = asyncio.get_running_loop().create_task(asyncio.to_thread(self.flush))


def flush_all() -> None:
    """Write every recorder's waiting counts (at shutdown)."""
    for rec in list(_recorders):
        rec.flush()


def _reasons(position: int, violations: list[Any]) -> list[tuple[str, str]]:
    """Field names as validation writes them: ``events[3].properties.price``."""
    return [(f"events[{position}].{v.field_name()}", v.message) for v in violations]


def plan_stage(settings: Settings, engine: Engine | None) -> Stage | None:
    """Check events against their app's tracking plan (nothing to do without a
    database: plans live there)."""
    if engine is None:
        return None
    cache: PolicyCache[CompiledPlan] = PolicyCache(
        engine, load_compiled, _OFF, settings.tracking.refresh_seconds
    )
    recorder = ViolationRecorder(engine, settings.tracking.flush_seconds)

    async def check_plan(batch: Batch) -> None:
        plan = await cache.current(batch.app_id)
        if plan.mode == "off":
            return
        enforce = plan.mode == "enforce"
        at = now_us()
        for i, ev in enumerate(batch.events):
            found = plan.check(ev.name, as_dict(ev.properties))
            if not found:
                continue
            for v in found:
                recorder.add(batch.app_id, ev.name, v.kind, v.property, v.message, at)
            if enforce:
                batch.reject(i, _reasons(batch.positions[i], found))
        if recorder.due():
            await recorder.flush_soon()

    return check_plan
