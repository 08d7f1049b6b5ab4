"""Webhook delivery: batched, signed POSTs with retries and backoff; batches that still
fail go to the ``webhook_deadletters`` table, from which they can be replayed."""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import httpx
import msgspec
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection, Engine

from eventkit.capture.schema import CanonicalEvent
from eventkit.config import Settings
from eventkit.errors import ConfigError
from eventkit.storage.models import WEBHOOK_DEADLETTERS
from eventkit.timeutil import now_us

__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "DeadLetter",
    "Webhook",
    "WebhookOptions",
    "erase_from_deadletters",
    "list_deadletters",
    "options_of",
    "replay",
    "sign",
]

log = logging.getLogger("eventkit_webhook")

SIGNATURE_HEADER = "X-Eventkit-Signature"
TIMESTAMP_HEADER = "X-Eventkit-Timestamp"
_encoder = msgspec.json.Encoder()


class WebhookOptions(BaseModel):
    """``[plugins.webhook]``."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(description="Where batches are POSTed.")
    secret: str = Field("", description="HMAC-SHA256 key of the signature header.")
    batch_size: int = Field(100, ge=1, le=10_000, description="Most events in one POST.")
    timeout_seconds: float = Field(10.0, gt=0, description="Per attempt.")
    max_attempts: int = Field(5, ge=1, le=50, description="Then the batch is dead-lettered.")
    backoff_seconds: float = Field(1.0, ge=0, description="First retry delay, then doubled.")
    max_backoff_seconds: float = Field(60.0, ge=0, description="Longest delay between tries.")


def options_of(settings: Settings) -> WebhookOptions:
    """The validated ``[plugins.webhook]`` table.

    Raises:
        ConfigError: the table is missing a URL or has an invalid value.
    """
    raw = settings.plugins.options("webhook")
    try:
        return WebhookOptions.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(
            f"[plugins.webhook] is invalid ({problems}); see docs/plugins.md#webhook"
        ) from None


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value: ``sha256=`` HMAC-SHA256 of ``timestamp.body``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


@dataclass
class Outcome:
    """The result of delivering one body."""

    ok: bool
    attempts: int
    error: str = ""


class Webhook:
    """Delivers event batches to one URL. Blocking: called in the sink thread."""

    def __init__(
        self,
        options: WebhookOptions,
        engine: Engine | None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.options = options
        self.engine = engine
        self.sleep = sleep
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()

    @property
    def client(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(timeout=self.options.timeout_seconds)
            return self._client

    def close(self) -> None:
        """Close the HTTP connections."""
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def send(self, events: Sequence[CanonicalEvent]) -> list[Outcome]:
        """POST ``events`` in batches of ``batch_size``; dead-letter what fails."""
        size = self.options.batch_size
        outcomes = []
        for start in range(0, len(events), size):
            chunk = events[start : start + size]
            body = _encoder.encode({"events": chunk})
            outcome = self.deliver(body, self.options.max_attempts)
            if not outcome.ok:
                self.dead_letter(body, len(chunk), outcome)
            outcomes.append(outcome)
        return outcomes

    def post(self, body: bytes) -> tuple[bool, bool, str, float | None]:
        """One attempt: ``(ok, retryable, error, retry_after)``."""
        timestamp = str(int(time.time()))
        headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: timestamp}
        if self.options.secret:
            headers[SIGNATURE_HEADER] = sign(self.options.secret, timestamp, body)
        try:
            r = self.client.post(self.options.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return False, True, f"{type(exc).__name__}: {exc}", None
        if r.is_success:
            return True, False, "", None
        retryable = r.status_code in (408, 425, 429) or r.status_code >= 500
        after = r.headers.get("retry-after", "")
        retry_after = float(after) if after.isdigit() else None
        return False, retryable, f"HTTP {r.status_code}: {r.text[:200]}", retry_after

    def deliver(self, body: bytes, attempts: int) -> Outcome:
        """POST ``body`` up to ``attempts`` times, backing off exponentially between
        retryable failures (connection errors, timeouts, 408, 425, 429, 5xx)."""
        delay = self.options.backoff_seconds
        error = ""
        for attempt in range(1, attempts + 1):
            ok, retryable, error, retry_after = self.post(body)
            if ok:
                return Outcome(True, attempt)
            if not retryable or attempt == attempts:
                return Outcome(False, attempt, error)
            wait = retry_after if retry_after is not None else delay
            self.sleep(min(wait, self.options.max_backoff_seconds))
            delay *= 2
        return Outcome(False, attempts, error)  # pragma: no cover - loop always returns

    def dead_letter(self, body: bytes, count: int, outcome: Outcome) -> None:
        """Keep an undeliverable batch for ``eventkit webhook deadletter replay``."""
        log.error(
            "webhook: %d events not delivered to %s after %d attempts (%s); dead-lettered",
            count,
            self.options.url,
            outcome.attempts,
            outcome.error,
        )
        if self.engine is None:
            return
        now = now_us()
        with self.engine.begin() as conn:
            conn.execute(
                insert(WEBHOOK_DEADLETTERS).values(
                    url=self.options.url,
                    payload=body.decode(),
                    event_count=count,
                    attempts=outcome.attempts,
                    last_error=outcome.error[:1000],
                    created_at=now,
                    last_attempt_at=now,
                )
            )


@dataclass(frozen=True)
class DeadLetter:
    """A dead-lettered batch."""

    id: int
    url: str
    event_count: int
    attempts: int
    last_error: str
    created_at: int
    last_attempt_at: int
    payload: str


def list_deadletters(engine: Engine, ids: Iterable[int] | None = None) -> list[DeadLetter]:
    """Dead-lettered batches, oldest first (only ``ids`` when given)."""
    q = select(WEBHOOK_DEADLETTERS).order_by(WEBHOOK_DEADLETTERS.c.id)
    if ids is not None:
        q = q.where(WEBHOOK_DEADLETTERS.c.id.in_(list(ids)))
    with engine.connect() as conn:
        return [DeadLetter(**dict(r)) for r in conn.execute(q).mappings()]


def replay(
    engine: Engine, webhook: Webhook, ids: Iterable[int] | None = None, attempts: int = 1
) -> list[tuple[DeadLetter, Outcome]]:
    """POST dead-lettered batches again (to the configured URL). A delivered batch
    leaves the table; one that fails again stays, with its attempts and error updated."""
    results = []
    for dl in list_deadletters(engine, ids):
        outcome = webhook.deliver(dl.payload.encode(), attempts)
        with engine.begin() as conn:
            t = WEBHOOK_DEADLETTERS
            if outcome.ok:
                conn.execute(delete(t).where(t.c.id == dl.id))
            else:
                conn.execute(
                    update(t)
                    .where(t.c.id == dl.id)
                    .values(
                        attempts=t.c.attempts + outcome.attempts,
                        last_error=outcome.error[:1000],
                        last_attempt_at=now_us(),
                    )
                )
        results.append((dl, outcome))
    return results


def erase_from_deadletters(
    conn: Connection, app_id: int, user_id: str, anonymous_ids: Sequence[str]
) -> int:
    """Remove a user's events from the dead-lettered payloads (erasure requests).

    A batch left empty is deleted; the others are rewritten without those events.
    Returns the number of events removed.
    """
    devices = set(anonymous_ids)
    removed = 0
    rows = conn.execute(
        select(WEBHOOK_DEADLETTERS.c.id, WEBHOOK_DEADLETTERS.c.payload).order_by(
            WEBHOOK_DEADLETTERS.c.id
        )
    ).all()
    for row_id, payload in rows:
        body = msgspec.json.decode(payload)
        events = body.get("events", [])
        keep = [
            e
            for e in events
            if not (
                e.get("app_id") == app_id
                and (e.get("user_id") == user_id or e.get("anonymous_id") in devices)
            )
        ]
        if len(keep) == len(events):
            continue
        removed += len(events) - len(keep)
        table = WEBHOOK_DEADLETTERS
        if keep:
            conn.execute(
                update(table)
                .where(table.c.id == row_id)
                .values(
                    payload=_encoder.encode({**body, "events": keep}).decode(),
                    event_count=len(keep),
                )
            )
        else:
            conn.execute(delete(table).where(table.c.id == row_id))
    return removed
