"""The delivery outbox: messages are written to ``alert_deliveries`` in the same
transaction that decides them, and sent afterwards by :func:`deliver_due`.

Each due message is claimed first (``claimed_until``, so two nodes never send the same
one at once), sent in a small thread pool (``alerts.concurrency``: a receiver that hangs
until its timeout holds up no other), and then marked ``delivered``, rescheduled with
exponential backoff (``alerts.backoff_seconds`` doubled per try, or the receiver's
``Retry-After``), or - after ``alerts.max_attempts`` tries or a permanent refusal -
moved to the dead-letter list (``status = "dead"``). A node that dies mid-send leaves
the claim to expire, and the message is sent again (at least once, never lost).
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.engine import Connection, Engine

from eventkit.alerts.destinations import send
from eventkit.alerts.messages import Message
from eventkit.alerts.spec import Destination
from eventkit.config_alerts import AlertSettings
from eventkit.storage.errors import map_db_errors
from eventkit.storage.models import ALERT_DELIVERIES
from eventkit.timeutil import US_PER_SECOND, now_us
from eventkit.webhooks import Attempt, RetryPolicy

__all__ = ["OutboxRun", "deliver_due", "enqueue"]

log = logging.getLogger("eventkit.alerts")
_D = ALERT_DELIVERIES.c
_BATCH = 200


@dataclass(frozen=True)
class OutboxRun:
    """What one pass over the outbox did."""

    delivered: int = 0
    retrying: int = 0
    dead: int = 0


def enqueue(
    conn: Connection,
    *,
    app_id: int,
    rule_id: int | None,
    run_id: int | None,
    kind: str,
    destinations: list[Destination],
    message: Message,
    now: int,
) -> int:
    """Add one pending message per destination (inside the caller's transaction)."""
    for d in destinations:
        conn.execute(
            insert(ALERT_DELIVERIES).values(
                app_id=app_id,
                rule_id=rule_id,
                run_id=run_id,
                kind=kind,
                destination=d.model_dump(mode="json"),
                message=message,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                claimed_until=None,
                last_error="",
                created_at=now,
                delivered_at=None,
            )
        )
    return len(destinations)


def _claim(engine: Engine, row_id: int, now: int, lease_us: int) -> bool:
    free = or_(_D.claimed_until.is_(None), _D.claimed_until < now)
    with map_db_errors(), engine.begin() as conn:
        n = conn.execute(
            update(ALERT_DELIVERIES)
            .where(and_(_D.id == row_id, _D.status == "pending", free))
            .values(claimed_until=now + lease_us)
        ).rowcount
    return bool(n)


def _finish(engine: Engine, row: Any, result: Attempt, settings: AlertSettings, now: int) -> str:
    attempts = int(row.attempts) + 1
    values: dict[str, Any] = {"attempts": attempts, "claimed_until": None}
    if result.ok:
        values.update(status="delivered", delivered_at=now, last_error="")
        status = "delivered"
    elif not result.retryable or attempts >= settings.max_attempts:
        values.update(status="dead", last_error=result.error[:1000])
        status = "dead"
        log.error(
            "alert message #%d to %s dead-lettered after %d attempts: %s",
            row.id,
            Destination.model_validate(row.destination).label(),
            attempts,
            result.error,
        )
    else:
        policy = RetryPolicy(
            settings.max_attempts, settings.backoff_seconds, settings.max_backoff_seconds
        )
        wait = policy.delay(attempts, result.retry_after)
        values.update(
            next_attempt_at=now + int(wait * US_PER_SECOND), last_error=result.error[:1000]
        )
        status = "retrying"
    with map_db_errors(), engine.begin() as conn:
        conn.execute(update(ALERT_DELIVERIES).where(_D.id == row.id).values(**values))
    return status


def _one(engine: Engine, row: Any, settings: AlertSettings, client: httpx.Client, now: int) -> str:
    lease = int(
        (max(settings.timeout_seconds, settings.smtp.timeout_seconds) * 3 + 60) * US_PER_SECOND
    )
    if not _claim(engine, int(row.id), now, lease):
        return "skipped"  # another node has it
    try:
        result = send(
            Destination.model_validate(row.destination),
            dict(row.message),
            smtp=settings.smtp,
            client=client,
        )
    except Exception as exc:  # a bug must not leave the claim until the lease ends
        log.exception("alert message #%d: sending failed", row.id)
        result = Attempt(False, True, f"{type(exc).__name__}: {exc}")
    return _finish(engine, row, result, settings, now)


def deliver_due(engine: Engine, settings: AlertSettings, *, now: int | None = None) -> OutboxRun:
    """Send every message that is due (up to 200 per pass)."""
    clock = now_us() if now is None else now
    with map_db_errors(), engine.connect() as conn:
        rows = conn.execute(
            select(ALERT_DELIVERIES)
            .where(
                _D.status == "pending",
                _D.next_attempt_at <= clock,
                or_(_D.claimed_until.is_(None), _D.claimed_until < clock),
            )
            .order_by(_D.next_attempt_at, _D.id)
            .limit(_BATCH)
        ).all()
    if not rows:
        return OutboxRun()
    counts = {"delivered": 0, "retrying": 0, "dead": 0, "skipped": 0}
    with (
        httpx.Client(timeout=settings.timeout_seconds) as client,
        ThreadPoolExecutor(max_workers=settings.concurrency, thread_name_prefix="alerts") as pool,
    ):
        for status in pool.map(lambda r: _one(engine, r, settings, client, clock), rows):
            counts[status] += 1
    return OutboxRun(counts["delivered"], counts["retrying"], counts["dead"])
