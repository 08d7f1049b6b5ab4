"""Process-wide counters of plugin failures and sink deliveries, exported on ``/metrics``.

The plugin manager is one per process while each app factory builds its own metrics
registry, so the counters live here and every registry reads them through
:class:`PluginCollector`.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

__all__ = ["PluginCollector", "PluginStats", "stats"]


class PluginStats:
    """Thread-safe counters (hooks run on the event loop and in sink threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        #: (plugin, hook) -> exceptions raised (hook "load" for import failures).
        self.errors: Counter[tuple[str, str]] = Counter()
        #: (plugin, outcome) -> events; outcome: delivered, failed, dropped.
        self.sink_events: Counter[tuple[str, str]] = Counter()
        #: plugin -> batches waiting in its sink queue.
        self.sink_queued: dict[str, int] = {}

    def error(self, plugin: str, hook: str) -> None:
        """Count one exception of ``plugin`` in ``hook``."""
        with self._lock:
            self.errors[(plugin, hook)] += 1

    def sink(self, plugin: str, outcome: str, events: int) -> None:
        """Count ``events`` handed to a sink with ``outcome``."""
        with self._lock:
            self.sink_events[(plugin, outcome)] += events

    def queued(self, plugin: str, batches: int) -> None:
        """Record the depth of a sink's queue."""
        with self._lock:
            self.sink_queued[plugin] = batches

    def snapshot(self) -> tuple[dict[Any, int], dict[Any, int], dict[str, int]]:
        """Copies of the counters, taken under the lock."""
        with self._lock:
            return dict(self.errors), dict(self.sink_events), dict(self.sink_queued)

    def reset(self) -> None:
        """Zero every counter (tests)."""
        with self._lock:
            self.errors.clear()
            self.sink_events.clear()
            self.sink_queued.clear()


#: The process's plugin counters.
stats = PluginStats()


class PluginCollector(Collector):
    """Exports :data:`stats` to a Prometheus registry."""

    def collect(self) -> Iterator[Any]:
        errors, sinks, queued = stats.snapshot()
        fam = CounterMetricFamily(
            "eventkit_plugin_errors",
            "Exceptions raised by plugins, by plugin and hook (load: failed to import).",
            labels=["plugin", "hook"],
        )
        for (plugin, hook), n in sorted(errors.items()):
            fam.add_metric([plugin, hook], n)
        yield fam
        fam = CounterMetricFamily(
            "eventkit_plugin_sink_events",
            "Stored events handed to sinks, by outcome (delivered, failed, dropped).",
            labels=["plugin", "outcome"],
        )
        for (plugin, outcome), n in sorted(sinks.items()):
            fam.add_metric([plugin, outcome], n)
        yield fam
        gauge = GaugeMetricFamily(
            "eventkit_plugin_sink_queue_batches",
            "Batches waiting in each sink's queue.",
            labels=["plugin"],
        )
        for plugin, n in sorted(queued.items()):
            gauge.add_metric([plugin], n)
        yield gauge
