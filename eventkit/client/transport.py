"""One HTTP call with retries: exponential backoff with jitter, ``Retry-After`` obeyed.

Retried: connection errors, timeouts, 408, 429 and 5xx (the server acknowledged
nothing; capture is idempotent, so a resend never stores twice). Any other answer is
final and returned to the caller.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

__all__ = ["RETRYABLE", "Backoff", "GaveUpError", "StoppedError", "post_with_retry", "retry_after"]

RETRYABLE = frozenset({408, 429, 500, 502, 503, 504})


class GaveUpError(Exception):
    """Every attempt failed; ``last`` is the last response or error message."""

    def __init__(self, attempts: int, last: str) -> None:
        super().__init__(f"gave up after {attempts} attempts: {last}")
        self.attempts = attempts
        self.last = last


class StoppedError(Exception):
    """The client is shutting down; the call was abandoned (its items stay queued)."""


@dataclass(frozen=True)
class Backoff:
    """Delay before retry ``n`` (0-based): ``base * 2**n`` capped at ``maximum``, with
    full jitter on the upper half; a server's ``Retry-After`` wins (capped at
    ``max_retry_after``)."""

    base: float = 0.5
    maximum: float = 30.0
    max_retry_after: float = 300.0

    def delay(self, n: int, server_hint: float | None = None) -> float:
        if server_hint is not None:
            return min(max(server_hint, 0.0), self.max_retry_after)
        cap = min(self.maximum, self.base * float(2 ** min(n, 30)))
        return cap / 2 + random.random() * cap / 2


def retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def post_with_retry(
    http: httpx.Client,
    path: str,
    body: Callable[[], bytes],
    *,
    backoff: Backoff,
    max_attempts: int | None,
    stop: threading.Event | None = None,
    headers: dict[str, str] | None = None,
    sleep: Callable[[float], Any] = time.sleep,
) -> httpx.Response:
    """POST ``body()`` (rebuilt per attempt, so ``sent_at`` is fresh) until an answer
    that is not worth retrying; returns it.

    Raises:
        GaveUpError: ``max_attempts`` attempts all failed.
        StoppedError: ``stop`` was set while waiting to retry.
    """
    attempt = 0
    while True:
        hint: float | None = None
        try:
            resp = http.post(path, content=body(), headers=headers)
        except httpx.TransportError as exc:
            last = f"{type(exc).__name__}: {exc}"
        else:
            if resp.status_code not in RETRYABLE:
                return resp
            hint = retry_after(resp.headers.get("retry-after"))
            last = f"HTTP {resp.status_code}"
        attempt += 1
        if max_attempts is not None and attempt >= max_attempts:
            raise GaveUpError(attempt, last)
        wait = backoff.delay(attempt - 1, hint)
        if stop is not None:
            if stop.wait(wait):
                raise StoppedError(last)
        else:
            sleep(wait)
