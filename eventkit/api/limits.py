"""Rate limits: events per app, and failed key checks per client address.

Both are token buckets kept in this process (each server process counts on its own;
with ``server.workers = N`` a node admits up to N times the rate). A capture request is
admitted while its app's bucket holds a token and is charged afterwards with the events
it carried, so a bucket can go into debt by one request: cheap (no body to parse before
deciding) and exact over time. The buckets raise ``OverloadedError`` subclasses, which
every protocol maps to its own error body with ``Retry-After``.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Hashable

from litestar import Request

from eventkit.config import RateLimitSettings
from eventkit.errors import RateLimitedError, TooManyAuthFailuresError

__all__ = ["Limiter", "TokenBuckets", "admit_events", "charge_events", "client_address"]


class TokenBuckets:
    """One token bucket per key (``rate`` tokens/s, at most ``burst``), least recently
    used keys forgotten past ``max_keys`` (a forgotten key starts full again)."""

    def __init__(self, rate: float, burst: float, max_keys: int = 100_000) -> None:
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._buckets: OrderedDict[Hashable, tuple[float, float]] = OrderedDict()

    def _level(self, key: Hashable, now: float) -> float:
        found = self._buckets.get(key)
        if found is None:
            return self.burst
        tokens, at = found
        return min(self.burst, tokens + (now - at) * self.rate)

    def wait(self, key: Hashable, now: float | None = None) -> float:
        """Seconds until ``key`` may proceed (0: now)."""
        now = time.monotonic() if now is None else now
        level = self._level(key, now)
        if level >= 1:
            return 0.0
        return (1 - level) / self.rate if self.rate > 0 else math.inf

    def take(self, key: Hashable, n: float, now: float | None = None) -> None:
        """Spend ``n`` tokens (the level may go below zero: debt is paid back first)."""
        now = time.monotonic() if now is None else now
        self._buckets[key] = (self._level(key, now) - n, now)
        self._buckets.move_to_end(key)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)


def _retry_after(seconds: float) -> int:
    return max(1, min(3600, math.ceil(seconds)))


class Limiter:
    """The process's rate limits, built from ``[rate_limits]``."""

    def __init__(self, settings: RateLimitSettings) -> None:
        rate = settings.events_per_second
        burst = settings.burst_events or max(1.0, rate)
        self.events = TokenBuckets(rate, burst) if rate > 0 else None
        per_second = settings.auth_failures_per_minute / 60
        self.auth = (
            TokenBuckets(per_second, settings.auth_failure_burst) if per_second > 0 else None
        )

    def admit(self, app_id: int) -> None:
        """Raise if ``app_id`` used up its events.

        Raises:
            RateLimitedError: 429, with the seconds until the bucket refills.
        """
        if self.events is None:
            return
        wait = self.events.wait(app_id)
        if wait > 0:
            raise RateLimitedError(
                f"this app sends more than {self.events.rate:g} events per second "
                "(rate_limits.events_per_second); retry after the Retry-After seconds",
                retry_after=_retry_after(wait),
            )

    def charge(self, app_id: int, events: int) -> None:
        """Count events an admitted request carried."""
        if self.events is not None and events:
            self.events.take(app_id, events)

    def check_address(self, address: str | None) -> None:
        """Raise if ``address`` failed authentication too often.

        Raises:
            TooManyAuthFailuresError: 429, until the bucket refills.
        """
        if self.auth is None or address is None:
            return
        wait = self.auth.wait(address)
        if wait > 0:
            raise TooManyAuthFailuresError(
                "too many requests with a missing or unknown API key from this address "
                "(rate_limits.auth_failures_per_minute); check the key and retry later",
                retry_after=_retry_after(wait),
            )

    def auth_failed(self, address: str | None) -> None:
        """Count one failed key check from ``address``."""
        if self.auth is not None and address is not None:
            self.auth.take(address, 1)


def client_address(request: Request) -> str | None:  # type: ignore[type-arg]
    """The connecting peer's address (the key of the failed-auth limit)."""
    return request.client.host if request.client else None


def _limiter(request: Request) -> Limiter:  # type: ignore[type-arg]
    limiter: Limiter = request.app.state.limiter
    return limiter


def admit_events(request: Request, app_id: int) -> None:  # type: ignore[type-arg]
    """Refuse a capture request of an app that is over its rate (any protocol)."""
    _limiter(request).admit(app_id)


def charge_events(request: Request, app_id: int, events: int) -> None:  # type: ignore[type-arg]
    """Charge an admitted capture request with the events it carried."""
    _limiter(request).charge(app_id, events)
