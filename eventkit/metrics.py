"""Prometheus metrics, in one registry per process (served at ``/metrics``)."""

from __future__ import annotations

from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from eventkit.plugins.stats import PluginCollector

__all__ = ["Metrics", "SpoolGauges"]


class SpoolGauges(Protocol):
    """What the spool gauges read at each scrape (``eventkit.ingest.spool.Spool``)."""

    @property
    def events(self) -> int: ...
    @property
    def bytes(self) -> int: ...
    def oldest_age(self) -> float: ...


_LATENCY = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The process's metrics. One instance per app factory call (tests build many)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.events_accepted = Counter(
            "eventkit_events_accepted", "Events stored.", ["source"], registry=r
        )
        self.events_rejected = Counter(
            "eventkit_events_rejected", "Events rejected by validation.", ["source"], registry=r
        )
        self.events_duplicate = Counter(
            "eventkit_events_duplicate", "Events already stored (retries).", ["source"], registry=r
        )
        self.requests = Counter(
            "eventkit_http_requests",
            "HTTP requests by route and status.",
            ["route", "status"],
            registry=r,
        )
        self.request_latency = Histogram(
            "eventkit_http_request_seconds",
            "HTTP request latency.",
            ["route"],
            buckets=_LATENCY,
            registry=r,
        )
        self.commit_latency = Histogram(
            "eventkit_commit_seconds", "Time of one group commit.", buckets=_LATENCY, registry=r
        )
        self.commit_events = Histogram(
            "eventkit_commit_events",
            "Events per group commit.",
            buckets=(1, 10, 50, 100, 500, 1000, 5000, 10000, 50000),
            registry=r,
        )
        self.commit_failures = Counter(
            "eventkit_commit_failures", "Group commits that failed.", registry=r
        )
        self.queue_depth = Gauge(
            "eventkit_writer_queue_events", "Events waiting for the writer.", registry=r
        )
        # Plugin failures and sink deliveries (counted process-wide, read at scrape time).
        r.register(PluginCollector())
        self.spooled_events = Counter(
            "eventkit_spool_written_events",
            "Events acknowledged from the local spool (database unavailable or slow).",
            registry=r,
        )
        self.replayed_events = Counter(
            "eventkit_spool_replayed_events",
            "Spooled events replayed into the database.",
            registry=r,
        )
        self.replayed_duplicates = Counter(
            "eventkit_spool_replayed_duplicates",
            "Replayed events that were already stored (kept once).",
            registry=r,
        )
        self.rejected_events = Counter(
            "eventkit_spool_rejected_events",
            "Spooled events the database refused for good, set aside in spool/rejected.",
            registry=r,
        )
        self.spool_events = Gauge(
            "eventkit_spool_events", "Events in the spool waiting for replay.", registry=r
        )
        self.spool_bytes = Gauge("eventkit_spool_bytes", "Bytes of spool on disk.", registry=r)
        self.spool_age = Gauge(
            "eventkit_spool_oldest_seconds",
            "Age of the oldest spooled event waiting for replay (0 when empty).",
            registry=r,
        )
        self._request_children: dict[tuple[str, int], tuple[Any, Any]] = {}
        self._event_children: dict[str, tuple[Any, Any, Any]] = {}

    def watch_spool(self, spool: SpoolGauges) -> None:
        """Read the spool's depth, size and age at each scrape."""
        self.spool_events.set_function(lambda: spool.events)
        self.spool_bytes.set_function(lambda: spool.bytes)
        self.spool_age.set_function(spool.oldest_age)

    def count_events(self, source: str, stored: int, duplicates: int, rejected: int) -> None:
        """Count one request's events by verdict (label children cached: hot path)."""
        children = self._event_children.get(source)
        if children is None:
            children = (
                self.events_accepted.labels(source),
                self.events_duplicate.labels(source),
                self.events_rejected.labels(source),
            )
            self._event_children[source] = children
        if stored:
            children[0].inc(stored)
        if duplicates:
            children[1].inc(duplicates)
        if rejected:
            children[2].inc(rejected)

    def observe_request(self, route: str, status: int, seconds: float) -> None:
        """Count one HTTP request and its latency (label children cached: hot path)."""
        key = (route, status)
        children = self._request_children.get(key)
        if children is None:
            children = (
                self.requests.labels(route, str(status)),
                self.request_latency.labels(route),
            )
            self._request_children[key] = children
        children[0].inc()
        children[1].observe(seconds)
