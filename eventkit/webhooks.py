"""Signed webhook POSTs: the signature, one attempt and the retry policy.

Shared by the webhook sink plugin (``eventkit_webhook``, which retries in its sink
thread) and the alert destinations (``eventkit.alerts``, which retry from the outbox
on later job runs so one slow receiver never holds up another). A receiver checks a
request with :func:`verify` (the algorithm is documented in docs/plugins.md#webhook
and docs/alerts.md).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "Attempt",
    "Outcome",
    "RetryPolicy",
    "deliver",
    "post_once",
    "sign",
    "verify",
]

SIGNATURE_HEADER = "X-Eventkit-Signature"
TIMESTAMP_HEADER = "X-Eventkit-Timestamp"
#: Statuses worth another try besides 5xx: timeout, too early, too many requests.
_RETRYABLE = frozenset({408, 425, 429})


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value: ``sha256=`` HMAC-SHA256 of ``timestamp.body``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    tolerance_seconds: float = 300,
    now: float | None = None,
) -> bool:
    """What a receiver does: the signature matches (constant-time) and the timestamp is
    within ``tolerance_seconds`` of now, which stops a captured request being replayed
    later."""
    try:
        age = abs((time.time() if now is None else now) - int(timestamp))
    except ValueError:
        return False
    expected = sign(secret, timestamp, body)
    return age <= tolerance_seconds and hmac.compare_digest(expected, signature)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a body is offered to a receiver."""

    max_attempts: int = 5
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 60.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based): the
        receiver's ``Retry-After`` when it gave one, else exponential backoff; capped."""
        wait = retry_after if retry_after is not None else self.backoff_seconds * 2 ** (attempt - 1)
        return min(wait, self.max_backoff_seconds)


@dataclass(frozen=True)
class Attempt:
    """The result of one POST."""

    ok: bool
    retryable: bool = False
    error: str = ""
    retry_after: float | None = None


@dataclass
class Outcome:
    """The result of delivering one body (all its attempts)."""

    ok: bool
    attempts: int
    error: str = ""


def post_once(
    client: httpx.Client,
    url: str,
    body: bytes,
    *,
    secret: str = "",
    headers: dict[str, str] | None = None,
) -> Attempt:
    """One POST of a JSON ``body``, signed when ``secret`` is set. Connection errors,
    timeouts, 408, 425, 429 and 5xx are retryable; other statuses are not."""
    timestamp = str(int(time.time()))
    sent = {"Content-Type": "application/json", TIMESTAMP_HEADER: timestamp, **(headers or {})}
    if secret:
        sent[SIGNATURE_HEADER] = sign(secret, timestamp, body)
    try:
        r = client.post(url, content=body, headers=sent)
    except httpx.HTTPError as exc:
        return Attempt(False, True, f"{type(exc).__name__}: {exc}")
    if r.is_success:
        return Attempt(True)
    retryable = r.status_code in _RETRYABLE or r.status_code >= 500
    after = r.headers.get("retry-after", "")
    retry_after = float(after) if after.isdigit() else None
    return Attempt(False, retryable, f"HTTP {r.status_code}: {r.text[:200]}", retry_after)


def deliver(
    client: httpx.Client,
    url: str,
    body: bytes,
    *,
    secret: str = "",
    policy: RetryPolicy,
    attempts: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Outcome:
    """POST ``body`` up to ``attempts`` (default ``policy.max_attempts``) times,
    sleeping :meth:`RetryPolicy.delay` between retryable failures."""
    tries = policy.max_attempts if attempts is None else attempts
    error = ""
    for attempt in range(1, tries + 1):
        result = post_once(client, url, body, secret=secret)
        if result.ok:
            return Outcome(True, attempt)
        error = result.error
        if not result.retryable or attempt == tries:
            return Outcome(False, attempt, error)
        sleep(policy.delay(attempt, result.retry_after))
    return Outcome(False, tries, error)  # pragma: no cover - the loop always returns
