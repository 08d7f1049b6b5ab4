"""The report pages: Overview, Trends, Funnels, Retention. Each runs the report the
CLI runs (``run_report``) with the URL's parameters, so a page's ``.json`` is exactly
``eventkit report NAME --format json`` for the same parameters."""

from __future__ import annotations

from typing import Any

from eventkit.errors import PermissionDeniedError
from eventkit.reports.params import run_report
from eventkit.reports.query import Report
from eventkit.web.charts import bar_chart, line_chart, number, spark_bars
from eventkit.web.view import Page, View

__all__ = ["funnels", "overview", "retention", "trends"]

_MEASURE_COLUMN = {"count": "count", "users": "users"}


def _series(report: Report, value: str) -> tuple[list[str], dict[str, list[float]]]:
    """Labels and one series per breakdown value from a report's rows."""
    by = report.columns[1] if len(report.columns) == 3 else None
    labels: list[str] = []
    series: dict[str, dict[str, float]] = {}
    for row in report.rows:
        if row["bucket"] not in labels:
            labels.append(row["bucket"])
        name = str(row[by]) if by else value
        series.setdefault(name, {})[row["bucket"]] = float(row[value] or 0)
    ranked = sorted(series, key=lambda n: -sum(series[n].values()))
    return labels, {n: [series[n].get(b, 0.0) for b in labels] for n in ranked}


def _page(v: View, template: str, title: str, report: Report, **ctx: Any) -> Page:
    return Page(
        template, title, {"report": report, **ctx}, report.to_dict(), report.rows, report.columns
    )


def overview(v: View) -> Page:
    """One app at a glance (``eventkit report overview``)."""
    r = run_report(v.service, "overview", v.app.id, v.report_params(interval="day", limit=8))
    daily = r.meta["daily"]
    labels = [row["bucket"] for row in daily["rows"]]
    chart = line_chart(
        labels, {"events": [row["count"] for row in daily["rows"]]}, title="Events per day"
    )
    active = r.meta["active"]
    dau = line_chart(
        [row["bucket"] for row in active["rows"]],
        {"DAU": [row.get("dau", 0) for row in active["rows"]]},
        title="Daily active users",
        height=180,
    )
    rate = r.meta["per_minute"]["counts"]
    live = spark_bars(rate, title="Events per minute, last hour")
    metrics = {row["metric"]: row["value"] for row in r.rows}
    return _page(
        v,
        "overview.html",
        "Overview",
        r,
        metrics=metrics,
        chart=chart,
        dau_chart=dau,
        live=live,
        number=number,
    )


def trends(v: View) -> Page:
    """Counts or unique users per interval (``eventkit report trends``)."""
    measure = v.arg("measure", "count")
    p = v.report_params(event=v.arg("event") or None, measure=measure, compare=v.flag("compare"))
    r = run_report(v.service, "trends", v.app.id, p)
    labels, series = _series(r, r.columns[-1])
    dashed: list[str] = []
    if r.meta.get("previous") is not None and len(series) == 1:
        prev = [float(row[r.columns[-1]] or 0) for row in r.meta["previous"]]
        series["previous period"] = prev[: len(labels)]
        dashed.append("previous period")
    title = f"{r.meta.get('event', '')} — {measure} per {p.interval}"
    chart = line_chart(labels, series, title=title, dashed=dashed) if labels else None
    return _page(
        v, "trends.html", "Trends", r, chart=chart, measure=measure, events=_event_names(v)
    )


def _event_names(v: View) -> list[str]:
    """Event names for the pickers: the app's top events of the range."""
    q = v.report_params().query(v.app.id)
    return [str(row["event"]) for row in v.service.top(q, limit=50, users=False).rows]


def funnels(v: View) -> Page:
    """Conversion through ordered steps (``eventkit report funnel``); with
    ``users_at=N`` the users converted at (or dropped after) step N."""
    steps = v.args("step")
    users_at = v.number("users_at", 0, 0, 20) or None
    if users_at and v.principal.is_share:
        raise PermissionDeniedError("a share link does not list users")
    events = _event_names(v)
    if not steps:
        empty = Report("funnel", [], [], {"steps": []})
        return Page(
            "funnels.html",
            "Funnels",
            {"report": empty, "events": events, "steps": steps, "chart": None},
            empty.to_dict(),
            [],
            [],
        )
    p = v.report_params(
        steps=steps,
        window=v.arg("window", "1d"),
        users_at=users_at,
        status=v.arg("status", "converted"),
    )
    r = run_report(v.service, "funnel", v.app.id, p)
    chart = None
    if not users_at and r.rows and "group" not in r.rows[0]:
        chart = bar_chart(
            [f"{row['step']}. {row['event']}" for row in r.rows],
            [row["users"] for row in r.rows],
            title="Users reaching each step",
            notes=[
                f"{row['conversion_pct']}% of step 1, {row['dropped']} dropped" for row in r.rows
            ],
        )
    return _page(v, "funnels.html", "Funnels", r, chart=chart, events=events, steps=steps)


def retention(v: View) -> Page:
    """Cohorts and the share returning (``eventkit report retention``)."""
    p = v.report_params(
        start_event=v.arg("start_event") or None,
        return_event=v.arg("return_event") or None,
        periods=v.number("periods", 8, 1, 60),
    )
    r = run_report(v.service, "retention", v.app.id, p)
    return _page(v, "retention.html", "Retention", r, events=_event_names(v))
