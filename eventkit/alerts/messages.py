"""What a notification says, rendered once per message for every destination type:
an email (subject, plain text, HTML), a Slack incoming-webhook payload and the JSON
body of the signed webhook (docs/alerts.md#messages)."""

from __future__ import annotations

import html
import shlex
from typing import Any
from urllib.parse import urlencode

from eventkit.alerts.conditions import Check
from eventkit.alerts.spec import PERCENT_METRICS, AlertSpec, Metric
from eventkit.config import Settings
from eventkit.timeutil import from_us

__all__ = ["Message", "alert_message", "describe_condition", "describe_metric", "fmt", "links"]

#: A rendered message: subject, text, html, slack (a payload), webhook (a JSON body).
Message = dict[str, Any]
_UNIT = {"hour": "hour", "day": "day", "week": "week"}


def fmt(metric: Metric, value: float | None) -> str:
    """A metric value as people read it."""
    if value is None:
        return "n/a"
    if metric.kind in PERCENT_METRICS:
        return f"{value:.2f}%"
    if metric.kind == "errors_per_session":
        return f"{value:.3f}"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def describe_metric(metric: Metric, version: str | None = None) -> str:
    """``crash-free users of 3.5.0 (ios)``, ``count of signup``, …"""
    where = f" where {' and '.join(metric.where)}" if metric.where else ""
    kind = metric.kind
    if kind == "events":
        return f"count of {metric.event or 'all events'}{where}"
    if kind == "users":
        return f"unique users of {metric.event or 'any event'}{where}"
    if kind == "active_users":
        return f"active users{where}"
    if kind == "funnel_conversion":
        return f"conversion of {' → '.join(metric.steps)}{where}"
    label = {
        "crash_free_users": "crash-free users",
        "crash_free_sessions": "crash-free sessions",
        "errors_per_session": "errors per session",
        "crashes": "crashes",
        "adoption": "adoption",
    }[kind]
    target = version or (metric.version if metric.version != "latest" else "the latest version")
    platform = f" ({metric.platform})" if metric.platform else ""
    return f"{label} of {target}{platform}"


def describe_condition(spec: AlertSpec, check: Check | None = None) -> str:
    """The condition in words, with the baseline when there is one."""
    c, m = spec.condition, spec.metric
    unit = _UNIT[spec.interval]
    if c.kind in ("above", "below"):
        return f"{c.kind} {fmt(m, c.threshold)}"
    if c.kind in ("drop", "rise"):
        word = "dropped" if c.kind == "drop" else "rose"
        than = (
            f"the same {unit} a week earlier" if c.compare_to == "week" else f"the previous {unit}"
        )
        base = f" ({fmt(m, check.baseline)})" if check and check.baseline is not None else ""
        return f"{word} {c.threshold:g}% or more against {than}{base}"
    way = {"both": "outside", "up": "above", "down": "below"}[c.direction]
    if check and check.baseline is not None:
        spread = float(check.detail.get("spread", 0))
        return (
            f"{way} its usual range: expected {fmt(m, check.baseline)} ± "
            f"{c.sensitivity:g} x {fmt(m, spread)} (median and spread of the same {unit} "
            f"in the last {c.baseline} weeks)"
        )
    return f"{way} its usual range (the last {c.baseline} weeks)"


def _cli(parts: list[str]) -> str:
    return " ".join(shlex.quote(p) for p in parts)


def links(
    settings: Settings, app: str, spec: AlertSpec, start: int, end: int, version: str | None
) -> dict[str, str | None]:
    """Where to look: the CLI command that shows the figure and, when
    ``server.public_url`` is set, the dashboard page."""
    m = spec.metric
    since, until = from_us(start).isoformat(), from_us(end).isoformat()
    span = ["--since", since, "--until", until]
    where = [x for w in m.where for x in ("--where", w)]
    params: dict[str, str] = {"since": since, "until": until, "interval": spec.interval}
    if m.kind in ("events", "users"):
        page = "trends"
        cmd = [
            "eventkit",
            "report",
            "trends",
            "--app",
            app,
            "--measure",
            "count" if m.kind == "events" else "users",
            "--interval",
            spec.interval,
            *(["--event", m.event] if m.event else []),
            *where,
            *span,
        ]
        params.update(measure="count" if m.kind == "events" else "users", event=m.event or "")
    elif m.kind == "active_users":
        page = "active"
        cmd = ["eventkit", "report", "active", "--app", app, *where, *span]
    elif m.kind == "funnel_conversion":
        page = "funnels"
        cmd = [
            "eventkit",
            "report",
            "funnel",
            "--app",
            app,
            *m.steps,
            "--window",
            m.window,
            *where,
            *span,
        ]
        params.update(steps=",".join(m.steps), window=m.window)
    else:
        page = "releases"
        v = version or m.version
        cmd = [
            "eventkit",
            "report",
            "releases",
            "--app",
            app,
            "--version",
            v,
            *(["--platform", m.platform] if m.platform else []),
            *span,
        ]
        params.update(version=v, platform=m.platform or "")
    web = None
    if settings.server.public_url:
        query = urlencode({k: v for k, v in params.items() if v})
        web = f"{settings.server.public_url.rstrip('/')}/apps/{app}/{page}?{query}"
    return {"cli": _cli(cmd), "web": web}


def _when(start: int, end: int, interval: str) -> str:
    a, b = from_us(start), from_us(end)
    if interval == "hour":
        return f"{a:%Y-%m-%d %H:%M} to {b:%H:%M} UTC"
    if interval == "day":
        return f"{a:%Y-%m-%d} (UTC day)"
    return f"the week of {a:%Y-%m-%d}"


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def alert_message(
    settings: Settings,
    *,
    app: str,
    rule: str,
    spec: AlertSpec,
    kind: str,
    check: Check,
    start: int,
    end: int,
) -> Message:
    """The message of a rule that ``kind`` = fired, resolved or test."""
    m = spec.metric
    version = check.detail.get("version")
    what = describe_metric(m, version)
    value = fmt(m, check.value)
    cond = describe_condition(spec, check)
    when = _when(start, end, spec.interval)
    link = links(settings, app, spec, start, end, version)
    head = {"fired": "ALERT", "resolved": "RESOLVED", "test": "TEST"}[kind]
    if kind == "resolved":
        summary = f"{what} is back to normal: {value} ({when}); the rule fired on: {cond}"
    else:
        summary = f"{what} is {value} in {when}: {cond}"
    subject = f"[eventkit] {head} {app}/{rule}: {what} is {value}"
    look = link["web"] or link["cli"]
    lines = [
        summary,
        "",
        f"app:        {app}",
        f"rule:       {rule}",
        f"value:      {value}",
        f"baseline:   {fmt(m, check.baseline)}" if check.baseline is not None else None,
        f"bucket:     {when}",
        f"condition:  {cond}",
        "",
        f"See it: {look}",
        f"CLI: {link['cli']}" if link["web"] else None,
        "",
        f"Pause this rule: eventkit alerts pause {rule} --app {app}",
    ]
    shown = [x for x in lines if x is not None]
    text_body = "\n".join(shown)
    return {
        "subject": subject,
        "text": text_body,
        "html": _html(subject, summary, shown, link),
        "slack": _slack(head, app, rule, summary, link),
        "webhook": {
            "type": f"alert.{kind}",
            "app": app,
            "rule": rule,
            "summary": summary,
            "metric": m.model_dump(mode="json"),
            "condition": spec.condition.model_dump(mode="json"),
            "interval": spec.interval,
            "bucket": {"start": from_us(start).isoformat(), "end": from_us(end).isoformat()},
            "value": check.value,
            "baseline": check.baseline,
            "detail": check.detail,
            "links": link,
        },
    }


def _html(subject: str, summary: str, lines: list[str], link: dict[str, str | None]) -> str:
    rows = "".join(
        f"<tr><th align='left'>{html.escape(k.strip())}</th><td>{html.escape(v.strip())}</td></tr>"
        for line in lines
        if ":" in line and not line.startswith(("See it", "CLI", "Pause")) and line != summary
        for k, v in [line.split(":", 1)]
    )
    see = f"<p><a href='{html.escape(link['web'])}'>Open the report</a></p>" if link["web"] else ""
    return (
        f"<html><body><h2>{html.escape(subject)}</h2><p>{html.escape(summary)}</p>"
        f"<table>{rows}</table>{see}<p>CLI: <code>{html.escape(link['cli'] or '')}</code></p>"
        "</body></html>"
    )


def _slack(
    head: str, app: str, rule: str, summary: str, link: dict[str, str | None]
) -> dict[str, Any]:
    icon = {"ALERT": ":rotating_light:", "RESOLVED": ":white_check_mark:", "TEST": ":bell:"}[head]
    see = (
        f"<{link['web']}|Open the report>"
        if link["web"]
        else f"`{_slack_escape(link['cli'] or '')}`"
    )
    text = f"{icon} *{head}* {_slack_escape(app)}/{_slack_escape(rule)}: {_slack_escape(summary)}"
    return {
        "text": f"{head} {app}/{rule}: {summary}",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": see}]},
        ],
    }
