"""What the scheduler runs (eventkit/builtins registers them) and what ``alerts test``
and ``digest preview`` do. Plain blocking functions."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx
from sqlalchemy import select
from sqlalchemy.engine import Engine

from eventkit.alerts.conditions import Check
from eventkit.alerts.destinations import send
from eventkit.alerts.digest import build_digest, digest_message, digest_period, run_digests
from eventkit.alerts.evaluate import due_bucket, evaluate_bucket, evaluate_rules
from eventkit.alerts.messages import Message, alert_message
from eventkit.alerts.outbox import OutboxRun, deliver_due
from eventkit.alerts.store import Rule, prune_history
from eventkit.config import Settings
from eventkit.releases.rollup import run_releases
from eventkit.storage.errors import map_db_errors
from eventkit.storage.models import APPS
from eventkit.timeutil import US_PER_HOUR, now_us
from eventkit.webhooks import Attempt

__all__ = [
    "AlertsJobRun",
    "preview_digest",
    "releases_job",
    "run_alerts_job",
    "sample_message",
    "send_test",
]

log = logging.getLogger("eventkit.alerts")


@dataclass(frozen=True)
class AlertsJobRun:
    """What one run of the alerts job did."""

    outcomes: dict[str, str]
    digests: dict[str, str]
    outbox: OutboxRun


def run_alerts_job(engine: Engine, settings: Settings, *, now: int | None = None) -> AlertsJobRun:
    """Judge due buckets, send due digests, then send what is due in the outbox; once
    an hour, forget history older than ``alerts.history_days``."""
    clock = now_us() if now is None else now
    outcomes = evaluate_rules(engine, settings, now=clock).outcomes
    digests = run_digests(engine, settings, now=clock)
    outbox = deliver_due(engine, settings.alerts, now=clock)
    if clock % US_PER_HOUR < settings.alerts.interval_seconds * 1_000_000:
        prune_history(engine, settings.alerts.history_days, now=clock)
    return AlertsJobRun(outcomes, digests, outbox)


def releases_job(engine: Engine, settings: Settings) -> int:
    """The release-health job body: events folded in."""
    return run_releases(engine, settings.releases).events


def _app_name(engine: Engine, app_id: int) -> str:
    with map_db_errors(), engine.connect() as conn:
        return str(conn.execute(select(APPS.c.name).where(APPS.c.id == app_id)).scalar_one())


def sample_message(
    engine: Engine, settings: Settings, rule: Rule, *, now: int | None = None
) -> Message:
    """The message ``alerts test`` sends: the rule's latest complete bucket as it would
    be announced, marked TEST (or a digest's latest period)."""
    clock = now_us() if now is None else now
    if rule.kind == "digest":
        return preview_digest(engine, settings, rule, now=clock)[1]
    start, end = due_bucket(rule.alert, clock, settings.alerts.settle_seconds)
    try:
        verdict = evaluate_bucket(engine, settings, rule, start)
    except Exception as exc:  # the sample must go out even if the metric fails
        verdict = Check(None, None, None, {"error": str(exc)})
    return alert_message(
        settings,
        app=_app_name(engine, rule.app_id),
        rule=rule.name,
        spec=rule.alert,
        kind="test",
        check=verdict,
        start=start,
        end=end,
    )


def send_test(
    engine: Engine, settings: Settings, rule: Rule, *, now: int | None = None
) -> list[tuple[str, Attempt]]:
    """Send a sample message to each of the rule's destinations now, one attempt each
    (not through the outbox), and say how each went."""
    message = sample_message(engine, settings, rule, now=now)
    dests = rule.alert.destinations if rule.kind == "alert" else rule.digest.destinations
    out = []
    with httpx.Client(timeout=settings.alerts.timeout_seconds) as client:
        for d in dests:
            out.append((d.label(), send(d, message, smtp=settings.alerts.smtp, client=client)))
    return out


def preview_digest(
    engine: Engine, settings: Settings, rule: Rule, *, now: int | None = None
) -> tuple[dict[str, object], Message]:
    """The content and message of a digest's latest due period."""
    clock = now_us() if now is None else now
    start, end = digest_period(rule.digest, clock, settings.alerts.settle_seconds)
    content = build_digest(engine, settings, rule.app_id, rule.digest, start, end)
    return content, digest_message(settings, rule.name, content)
