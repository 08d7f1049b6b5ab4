"""Sinks: plugins that react to stored events (``eventkit_events_stored``).

The capture path hands each batch of newly stored events to :meth:`SinkDispatcher.publish`
after the commit, which only appends it to a bounded queue per sink: a slow or failing
sink never delays or fails a capture response. One daemon thread per sink delivers its
queue in order. A full queue drops the batch; drops and failures are counted
(``eventkit_plugin_sink_events{outcome}``) and logged.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Sequence

import pluggy

from eventkit.capture.schema import CanonicalEvent
from eventkit.config import Settings
from eventkit.plugins.manager import call_impl, get_plugin_manager, implementations
from eventkit.plugins.stats import stats

__all__ = ["HOOK", "SinkDispatcher", "sink_dispatcher"]

log = logging.getLogger("eventkit.plugins")

HOOK = "eventkit_events_stored"
_STOP = object()


class _Sink:
    """One sink plugin: its queue and delivery thread."""

    def __init__(self, impl: pluggy.HookImpl, settings: Settings, maxsize: int) -> None:
        self.impl = impl
        self.name = impl.plugin_name
        self.settings = settings
        self.queue: queue.Queue[object] = queue.Queue(maxsize)
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()

    def put(self, events: list[CanonicalEvent]) -> None:
        with self.lock:
            if self.thread is None:
                self.thread = threading.Thread(
                    target=self._run, name=f"eventkit-sink-{self.name}", daemon=True
                )
                self.thread.start()
        try:
            self.queue.put_nowait(events)
        except queue.Full:
            stats.sink(self.name, "dropped", len(events))
            log.warning(
                "sink %r is behind (%d batches queued): %d stored events not handed to it",
                self.name,
                self.queue.maxsize,
                len(events),
            )
        stats.queued(self.name, self.queue.qsize())

    def _run(self) -> None:
        while True:
            item = self.queue.get()
            try:
                if item is _STOP:
                    return
                assert isinstance(item, list)
                ok, _ = call_impl(self.impl, HOOK, {"events": item, "settings": self.settings})
                stats.sink(self.name, "delivered" if ok else "failed", len(item))
                stats.queued(self.name, self.queue.qsize())
            finally:
                self.queue.task_done()

    def stop(self, timeout: float) -> None:
        with self.lock:
            thread, self.thread = self.thread, None
        if thread is None:
            return
        self.queue.put(_STOP)  # after everything queued: the queue drains first
        thread.join(timeout)
        if thread.is_alive():
            log.warning("sink %r did not finish within %.0f s; left behind", self.name, timeout)


class SinkDispatcher:
    """Hands stored events to every sink, off the request path."""

    def __init__(
        self, settings: Settings, impls: Sequence[pluggy.HookImpl], maxsize: int = 1000
    ) -> None:
        self.sinks = [_Sink(impl, settings, maxsize) for impl in impls]

    def publish(self, events: list[CanonicalEvent]) -> None:
        """Queue newly stored events for every sink (never blocks, never raises)."""
        if events:
            for sink in self.sinks:
                sink.put(events)

    def flush(self) -> None:
        """Wait until every queued batch has been handed to its sink (tests, shutdown)."""
        for sink in self.sinks:
            sink.queue.join()

    def stop(self, timeout: float = 10.0) -> None:
        """Deliver what is queued (up to ``timeout`` seconds per sink) and stop."""
        for sink in self.sinks:
            sink.stop(timeout)


def sink_dispatcher(
    settings: Settings, pm: pluggy.PluginManager | None = None
) -> SinkDispatcher | None:
    """A dispatcher for the loaded sinks, or None when no plugin implements the hook."""
    impls = implementations(pm or get_plugin_manager(), HOOK)
    if not impls:
        return None
    return SinkDispatcher(settings, impls, settings.plugins.sink_queue_batches)
