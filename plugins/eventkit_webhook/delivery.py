"""Webhook delivery: batched, signed POSTs with retries and backoff; batches that still
fail go to the ``webhook_deadletters`` table, from which they can be replayed."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

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
from eventkit.webhooks import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Outcome,
    RetryPolicy,
    deliver,
    sign,
)

__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "DeadLetter",
    "Outcome",
    "Webhook",
    "WebhookOptions",
    "erase_from_deadletters",
    "list_deadletters",
    "options_of",
    "replay",
    "sign",
]

log = logging.getLogger("eventkit_webhook")
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


@dataclass
class Webhook:
    """Delivers event batches to one URL. Blocking: called in the sink thread."""

    options: WebhookOptions
    engine: Engine | None
    sleep: Callable[[float], None] = time.sleep
    _client: httpx.Client | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def client(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(timeout=self.options.timeout_seconds)
            return self._client

    @property
    def policy(self) -> RetryPolicy:
        """The retry policy of ``[plugins.webhook]``."""
        o = self.options
        return RetryPolicy(o.max_attempts, o.backoff_seconds, o.max_backoff_seconds)

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

    def deliver(self, body: bytes, attempts: int) -> Outcome:
        """POST ``body`` up to ``attempts`` times, backing off exponentially between
        retryable failures (connection errors, timeouts, 408, 425, 429, 5xx)."""
        return deliver(
            self.client, self.options.url, body, secret=self.options.secret,
            policy=self.policy, attempts=attempts, sleep=self.sleep,
        )  # fmt: skip

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
