"""Rules, evaluations and messages as JSON-ready dicts: the one shape the CLI
(``--format json``), the HTTP API and the dashboard show. Webhook secrets never leave."""

from __future__ import annotations

from typing import Any

from eventkit.alerts.messages import describe_condition, describe_metric
from eventkit.alerts.spec import AlertSpec, Destination
from eventkit.alerts.store import Delivery, Rule, Run
from eventkit.timeutil import from_us

__all__ = ["delivery_dict", "rule_dict", "run_dict"]


def _iso(us: int | None) -> str | None:
    return None if us is None else from_us(us).isoformat(timespec="seconds")


def _definition(rule: Rule) -> dict[str, Any]:
    data = rule.spec.model_dump(mode="json")
    for d in data.get("destinations", []):
        if d.get("secret"):
            d["secret"] = "********"  # noqa: S105 - the mask shown instead
    return data


def rule_dict(rule: Rule, app: str) -> dict[str, Any]:
    """A rule or digest, with its definition and a sentence of what it watches."""
    spec = rule.spec
    out: dict[str, Any] = {
        "name": rule.name,
        "app": app,
        "kind": rule.kind,
        "status": "paused" if rule.paused else "active",
    }
    if isinstance(spec, AlertSpec):
        out.update(
            state=rule.state,
            watches=f"{describe_metric(spec.metric)} per {spec.interval}",
            fires_when=describe_condition(spec),
            cooldown=spec.cooldown,
        )
    else:
        out.update(period=spec.period, hour_utc=spec.hour)
    out["destinations"] = [
        Destination.model_validate(d).label()
        for d in rule.spec.model_dump(mode="json")["destinations"]
    ]
    out.update(
        last_notified=_iso(rule.last_notified_at),
        created=_iso(rule.created_at),
        created_by=rule.created_by,
        definition=_definition(rule),
    )
    return out


def run_dict(run: Run) -> dict[str, Any]:
    """One evaluation."""
    return {
        "bucket": _iso(run.bucket),
        "bucket_end": _iso(run.bucket_end),
        "outcome": run.outcome,
        "value": run.value,
        "baseline": run.baseline,
        "evaluated": _iso(run.evaluated_at),
        "node": run.node,
        "detail": run.detail,
    }


def delivery_dict(d: Delivery, rule: str | None = None) -> dict[str, Any]:
    """One message to one destination (the body is summarized by its subject)."""
    return {
        "id": d.id,
        "rule": rule,
        "kind": d.kind,
        "status": d.status,
        "destination": Destination.model_validate(d.destination).label(),
        "subject": d.message.get("subject", ""),
        "attempts": d.attempts,
        "next_attempt": _iso(d.next_attempt_at) if d.status == "pending" else None,
        "last_error": d.last_error,
        "created": _iso(d.created_at),
        "delivered": _iso(d.delivered_at),
    }
