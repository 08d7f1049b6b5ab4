"""Rule evaluation: the body of the scheduled alerts job.

For each active rule, the bucket to judge is the latest **complete** one: it ended at
least ``alerts.settle_seconds`` ago (plus the funnel window for a funnel), so a
half-finished hour is never a drop and late mobile events are in. Older buckets that
were missed (the server was down) are not judged afterwards: stale alerts help nobody.

**Exactly once per bucket across nodes.** The job runs where its lease is held
(eventkit.storage.leases), and besides that every verdict is recorded by inserting the
``(rule, bucket)`` row of ``alert_runs``, which is unique: the state change and the
messages are written in the same transaction as that row, so a second node (or a
second run) that computed the same bucket finds the row taken and writes nothing.

States: ``ok`` → condition met → ``fired`` (messages sent, state ``firing``) unless a
"fired" message went out less than ``cooldown`` ago (``suppressed``: state ``firing``,
nothing sent); met again while firing → ``firing`` (nothing sent); not met while firing
→ ``resolved`` (a resolved message, if the firing was announced) → ``ok``. No value
(no data, too little history, below ``min_sample``) → ``no_data``, state unchanged.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine

from eventkit.aggregation.rollups import dims_for
from eventkit.alerts.conditions import Check, check, needed_starts
from eventkit.alerts.messages import alert_message
from eventkit.alerts.metrics import metric_values
from eventkit.alerts.outbox import enqueue
from eventkit.alerts.spec import AlertSpec
from eventkit.alerts.store import Rule, decided, list_rules, rule_of
from eventkit.config import Settings
from eventkit.reports.query import bucket_start
from eventkit.storage.engine import writer
from eventkit.storage.errors import map_db_errors
from eventkit.storage.models import ALERT_RULES, ALERT_RUNS, APPS
from eventkit.timeutil import US_PER_SECOND, now_us

__all__ = [
    "EvaluationRun",
    "claim_run",
    "due_bucket",
    "evaluate_bucket",
    "evaluate_rules",
    "node_name",
    "record",
    "reload_rule",
]

log = logging.getLogger("eventkit.alerts")
_R = ALERT_RULES.c


def node_name() -> str:
    """This process, as recorded beside each evaluation."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class EvaluationRun:
    """What one pass over the rules did: outcome per rule name."""

    outcomes: dict[str, str] = field(default_factory=dict)


def due_bucket(spec: AlertSpec, now: int, settle_seconds: float) -> tuple[int, int]:
    """``(start, end)`` of the latest bucket complete at ``now``."""
    lag = settle_seconds + (
        spec.metric.window_seconds if spec.metric.kind == "funnel_conversion" else 0
    )
    ready = now - int(lag * US_PER_SECOND)
    end = bucket_start(ready, spec.interval)
    return bucket_start(end - 1, spec.interval), end


def evaluate_bucket(engine: Engine, settings: Settings, rule: Rule, start: int) -> Check:
    """The verdict on one bucket (reads only; the same snapshot for every value)."""
    spec = rule.alert
    rolled = set(dims_for(settings.aggregation))
    with map_db_errors(), engine.connect() as conn, conn.begin():
        points = metric_values(
            conn, rule.app_id, spec.metric, spec.interval, needed_starts(spec, start), rolled=rolled
        )
    return check(spec, start, points)


def _decide(row: Any, verdict: Check, cooldown_us: int, now: int) -> tuple[str, dict[str, Any]]:
    """The outcome and the rule's new state (``values`` to update)."""
    firing = row.state == "firing"
    if verdict.met is None:
        return "no_data", {}
    if verdict.met and not firing:
        last = row.last_notified_at
        if last is not None and now - int(last) < cooldown_us:
            return "suppressed", {"state": "firing", "firing_notified": False}
        return "fired", {"state": "firing", "firing_notified": True, "last_notified_at": now}
    if verdict.met:
        return "firing", {}
    if firing:
        return "resolved", {"state": "ok", "firing_notified": False}
    return "ok", {}


def claim_run(
    conn: Connection,
    rule: Rule,
    start: int,
    end: int,
    now: int,
    *,
    outcome: str,
    value: float | None,
    baseline: float | None,
    detail: dict[str, Any],
    node: str,
) -> int | None:
    """Insert the (rule, bucket) row of ``alert_runs``; None when it exists already
    (decided by another node or an earlier run)."""
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = (
        dialect_insert(ALERT_RUNS)
        .values(
            rule_id=rule.id,
            app_id=rule.app_id,
            bucket=start,
            bucket_end=end,
            evaluated_at=now,
            outcome=outcome,
            value=value,
            baseline=baseline,
            detail=detail,
            node=node[:200],
        )
        .on_conflict_do_nothing(index_elements=["rule_id", "bucket"])
        .returning(ALERT_RUNS.c.id)
    )
    row = conn.execute(stmt).first()
    return None if row is None else int(row[0])


def record(
    engine: Engine,
    settings: Settings,
    rule: Rule,
    start: int,
    end: int,
    verdict: Check,
    *,
    now: int | None = None,
    node: str = "",
) -> str | None:
    """Record the verdict on ``(rule, start)`` and enqueue its messages, in one
    transaction. Returns the outcome, or None when the bucket was already decided (by
    another node or an earlier run) or the rule changed (deleted, paused) meanwhile."""
    clock = now_us() if now is None else now
    spec = rule.alert
    lock = " FOR UPDATE" if engine.dialect.name == "postgresql" else ""
    with map_db_errors(), writer(engine).begin() as conn:
        row = conn.execute(
            text(f"SELECT * FROM alert_rules WHERE id = :id{lock}"), {"id": rule.id}
        ).first()
        if row is None or row.paused:
            return None
        outcome, values = _decide(row, verdict, spec.cooldown_seconds * US_PER_SECOND, clock)
        run_id = claim_run(
            conn,
            rule,
            start,
            end,
            clock,
            outcome=outcome,
            value=verdict.value,
            baseline=verdict.baseline,
            detail=verdict.detail,
            node=node,
        )
        if run_id is None:
            return None
        if values:
            conn.execute(update(ALERT_RULES).where(_R.id == rule.id).values(**values))
        notify = outcome == "fired" or (outcome == "resolved" and row.firing_notified)
        if notify:
            app = conn.execute(select(APPS.c.name).where(APPS.c.id == rule.app_id)).scalar_one()
            kind = "fired" if outcome == "fired" else "resolved"
            message = alert_message(
                settings,
                app=app,
                rule=rule.name,
                spec=spec,
                kind=kind,
                check=verdict,
                start=start,
                end=end,
            )
            enqueue(
                conn,
                app_id=rule.app_id,
                rule_id=rule.id,
                run_id=run_id,
                kind=kind,
                destinations=list(spec.destinations),
                message=message,
                now=clock,
            )
    return outcome


def evaluate_rules(
    engine: Engine, settings: Settings, *, now: int | None = None, app_id: int | None = None
) -> EvaluationRun:
    """Judge the due bucket of every active alert rule (of one app, or all)."""
    clock = now_us() if now is None else now
    node = node_name()
    run = EvaluationRun()
    for rule in list_rules(engine, app_id, "alert"):
        if rule.paused:
            continue
        start, end = due_bucket(rule.alert, clock, settings.alerts.settle_seconds)
        if decided(engine, rule.id, start):
            continue  # cheap skip; record() is what guarantees exactly once
        try:
            verdict = evaluate_bucket(engine, settings, rule, start)
            outcome = record(engine, settings, rule, start, end, verdict, now=clock, node=node)
        except Exception:
            log.exception("alert rule %s (app %d) could not be evaluated", rule.name, rule.app_id)
            continue
        if outcome is not None:
            run.outcomes[rule.name] = outcome
            if outcome in ("fired", "resolved", "suppressed"):
                log.info("alert %s: %s (value %s)", rule.name, outcome, verdict.value)
    return run


def reload_rule(engine: Engine, rule_id: int) -> Rule | None:
    """The rule as stored now (None: deleted)."""
    with map_db_errors(), engine.connect() as conn:
        row = conn.execute(select(ALERT_RULES).where(_R.id == rule_id)).mappings().first()
    return None if row is None else rule_of(row)
