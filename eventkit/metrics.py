"""Prometheus metrics, in one registry per process (served at ``/metrics``)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from eventkit.plugins.stats import PluginCollector

__all__ = ["Metrics"]

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
        self._request_children: dict[tuple[str, int], tuple[Any, Any]] = {}

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
