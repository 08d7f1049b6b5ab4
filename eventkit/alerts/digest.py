"""Digests: a scheduled summary of one app, daily (yesterday) or weekly (last Monday to
Monday, UTC), sent to the same destinations as alerts once the period is complete and
the digest's hour (UTC) has passed. Exactly once per period, like alert buckets:
the ``(digest, period)`` row of ``alert_runs`` is unique.

Content: active users (and the previous period), events, the top events, pinned funnels'
conversion, experiments that reached a verdict, the alerts that fired, and the health
of the newest releases (docs/alerts.md#digests).
"""

from __future__ import annotations

import html
import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from eventkit.alerts.evaluate import claim_run, node_name
from eventkit.alerts.messages import Message
from eventkit.alerts.outbox import enqueue
from eventkit.alerts.spec import DigestSpec
from eventkit.alerts.store import Rule, decided, list_rules
from eventkit.config import Settings
from eventkit.experiments.analysis import readout
from eventkit.experiments.store import list_experiments
from eventkit.reports import ReportsService
from eventkit.reports.funnel import parse_step
from eventkit.reports.query import Interval, ReportQuery, bucket_start
from eventkit.reports.releases import releases
from eventkit.storage.engine import writer
from eventkit.storage.errors import map_db_errors
from eventkit.storage.models import ALERT_RULES, ALERT_RUNS, APPS
from eventkit.timeutil import US_PER_HOUR, US_PER_SECOND, from_us, now_us

__all__ = ["build_digest", "digest_message", "digest_period", "run_digests"]

log = logging.getLogger("eventkit.alerts")


def digest_period(spec: DigestSpec, now: int, settle_seconds: float) -> tuple[int, int]:
    """``(start, end)`` of the latest period whose digest is due at ``now``."""
    unit: Interval = "day" if spec.period == "daily" else "week"
    ready = now - spec.hour * US_PER_HOUR - int(settle_seconds * US_PER_SECOND)
    end = bucket_start(ready, unit)
    return bucket_start(end - 1, unit), end


def _change(now: float, before: float) -> float | None:
    return round(100.0 * (now - before) / before, 1) if before else None


def _users(service: ReportsService, q: ReportQuery, prev: ReportQuery) -> dict[str, Any]:
    cur = service.trends(q, measure="users")
    old = service.trends(prev, measure="users")
    days = [int(r["users"]) for r in cur.rows]
    users, before = int(cur.meta["total"] or 0), int(old.meta["total"] or 0)
    return {
        "users": users,
        "previous": before,
        "change_pct": _change(users, before),
        "avg_daily": round(sum(days) / len(days), 1) if days else 0.0,
    }


def _top(service: ReportsService, q: ReportQuery, prev: ReportQuery) -> list[dict[str, Any]]:
    cur = service.top(q, kind="events", limit=5)
    old = {r["event"]: int(r["events"]) for r in service.top(prev, kind="events", limit=200).rows}
    return [
        {
            "event": r["event"],
            "count": int(r["events"]),
            "previous": old.get(r["event"], 0),
            "change_pct": _change(int(r["events"]), old.get(r["event"], 0)),
        }
        for r in cur.rows
    ]


def _funnels(
    service: ReportsService, spec: DigestSpec, q: ReportQuery, prev: ReportQuery
) -> list[dict[str, Any]]:
    out = []
    for steps in spec.funnels:
        parsed = [parse_step(s) for s in steps]
        cur, old = service.funnel(q, parsed).meta, service.funnel(prev, parsed).meta

        def pct(m: dict[str, Any]) -> float | None:
            return round(100.0 * m["converted"] / m["entered"], 1) if m["entered"] else None

        out.append(
            {
                "steps": steps,
                "entered": cur["entered"],
                "converted": cur["converted"],
                "conversion_pct": pct(cur),
                "previous_pct": pct(old),
            }
        )
    return out


def _experiments(engine: Engine, app_id: int) -> list[dict[str, Any]]:
    """Running experiments whose readout is a verdict (a winner, the control, or a
    sample-ratio mismatch), not 'keep running'."""
    out = []
    for rec in list_experiments(engine, app_id):
        if rec.status != "running":
            continue
        verdict = readout(engine, app_id, rec).verdict
        if not verdict.startswith(("not enough data", "no significant difference")):
            out.append({"experiment": rec.spec.key, "verdict": verdict})
    return out


def _alerts(engine: Engine, app_id: int, start: int, end: int) -> list[dict[str, Any]]:
    r, h = ALERT_RULES.c, ALERT_RUNS.c
    with map_db_errors(), engine.connect() as conn:
        rows = conn.execute(
            select(r.name, h.bucket, h.value, h.outcome)
            .join(ALERT_RULES, r.id == h.rule_id)
            .where(
                h.app_id == app_id,
                h.outcome.in_(["fired", "suppressed"]),
                h.bucket >= start,
                h.bucket < end,
            )
            .order_by(h.bucket)
        ).all()
    return [
        {"rule": n, "at": from_us(int(b)).isoformat(timespec="minutes"), "value": v, "outcome": o}
        for n, b, v, o in rows
    ]


def build_digest(
    engine: Engine, settings: Settings, app_id: int, spec: DigestSpec, start: int, end: int
) -> dict[str, Any]:
    """The digest's content for ``[start, end)`` (and the period before, to compare)."""
    service = ReportsService(engine, settings)
    q = ReportQuery(app_id=app_id, since=start, until=end)
    prev = ReportQuery(app_id=app_id, since=start - (end - start), until=start)
    with map_db_errors(), engine.connect() as conn:
        app = conn.execute(select(APPS.c.name).where(APPS.c.id == app_id)).scalar_one()
        rel = releases(conn, q)
    events = service.trends(q).meta["total"] or 0
    events_before = service.trends(prev).meta["total"] or 0
    return {
        "app": app,
        "period": spec.period,
        "since": from_us(start).date().isoformat(),
        "until": from_us(end).date().isoformat(),
        "active_users": _users(service, q, prev),
        "events": {
            "count": events,
            "previous": events_before,
            "change_pct": _change(events, events_before),
        },
        "top_events": _top(service, q, prev),
        "funnels": _funnels(service, spec, q, prev),
        "experiments": _experiments(engine, app_id),
        "alerts": _alerts(engine, app_id, start, end),
        "releases": [
            {
                k: row[k]
                for k in (
                    "app_version",
                    "platform",
                    "users",
                    "adoption_pct",
                    "crash_free_users_pct",
                    "crash_free_sessions_pct",
                )
            }
            for row in rel.rows[:4]
        ],
    }


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:+.1f}%"


def _lines(d: dict[str, Any]) -> list[str]:
    au, ev = d["active_users"], d["events"]
    lines = [
        f"Active users: {au['users']:,} ({_pct(au['change_pct'])} vs the period before), "
        f"{au['avg_daily']:,} a day on average",
        f"Events: {ev['count']:,} ({_pct(ev['change_pct'])})",
        "",
        "Top events:",
        *(f"  {t['event']}: {t['count']:,} ({_pct(t['change_pct'])})" for t in d["top_events"]),
    ]
    if d["funnels"]:
        lines += ["", "Funnels:"]
        for f in d["funnels"]:
            now = "n/a" if f["conversion_pct"] is None else f"{f['conversion_pct']}%"
            was = "n/a" if f["previous_pct"] is None else f"{f['previous_pct']}%"
            lines.append(f"  {' → '.join(f['steps'])}: {now} of {f['entered']:,} (was {was})")
    if d["releases"]:
        lines += ["", "Releases (newest first):"]
        for r in d["releases"]:
            lines.append(
                f"  {r['app_version']} ({r['platform']}): {r['users']:,} users, "
                f"{r['adoption_pct']}% adoption, crash-free users "
                f"{r['crash_free_users_pct']}%"
            )
    lines += ["", "Experiments with a verdict:"]
    lines += [f"  {e['experiment']}: {e['verdict']}" for e in d["experiments"]] or ["  none"]
    lines += ["", "Alerts that fired:"]
    lines += [
        f"  {a['rule']} at {a['at']} ({a['outcome']}, value {a['value']})" for a in d["alerts"]
    ] or ["  none"]
    return lines


def digest_message(settings: Settings, name: str, d: dict[str, Any]) -> Message:
    """The digest rendered for email, Slack and the webhook."""
    subject = f"[eventkit] {d['app']} {d['period']} digest, {d['since']} to {d['until']}"
    lines = _lines(d)
    more = f"\nMore: eventkit report active --app {d['app']} --since {d['since']}"
    if settings.server.public_url:
        more = f"\nDashboard: {settings.server.public_url.rstrip('/')}/apps/{d['app']}/overview"
    body = "\n".join(lines) + "\n" + more
    block = "\n".join(lines).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return {
        "subject": subject,
        "text": body,
        "html": f"<html><body><h2>{html.escape(subject)}</h2><pre>{html.escape(body)}</pre>"
        "</body></html>",
        "slack": {
            "text": subject,
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": subject[:150]}},
                {"type": "section", "text": {"type": "mrkdwn", "text": f"```{block[:2900]}```"}},
            ],
        },
        "webhook": {"type": "digest", "digest": name, **d},
    }


def run_digests(engine: Engine, settings: Settings, *, now: int | None = None) -> dict[str, str]:
    """Send every due digest once per period; returns ``{name: "sent"}``."""
    clock = now_us() if now is None else now
    out = {}
    for rule in list_rules(engine, None, "digest"):
        if rule.paused:
            continue
        start, end = digest_period(rule.digest, clock, settings.alerts.settle_seconds)
        if decided(engine, rule.id, start):
            continue
        try:
            content = build_digest(engine, settings, rule.app_id, rule.digest, start, end)
            if _claim_and_send(engine, settings, rule, start, end, content, clock):
                out[rule.name] = "sent"
        except Exception:
            log.exception("digest %s (app %d) failed; retried next run", rule.name, rule.app_id)
    return out


def _claim_and_send(
    engine: Engine,
    settings: Settings,
    rule: Rule,
    start: int,
    end: int,
    content: dict[str, Any],
    now: int,
) -> bool:
    with map_db_errors(), writer(engine).begin() as conn:
        run_id = claim_run(
            conn,
            rule,
            start,
            end,
            now,
            outcome="sent",
            value=None,
            baseline=None,
            detail={"since": content["since"]},
            node=node_name(),
        )
        if run_id is None:
            return False
        enqueue(
            conn,
            app_id=rule.app_id,
            rule_id=rule.id,
            run_id=run_id,
            kind="digest",
            destinations=list(rule.digest.destinations),
            message=digest_message(settings, rule.name, content),
            now=now,
        )
    return True
