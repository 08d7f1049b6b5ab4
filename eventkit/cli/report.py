"""``eventkit report``: trends, active users, top lists, funnels, retention."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from eventkit.cli.context import state
from eventkit.cli.options import AppOption, one_app
from eventkit.cli.output import Format, FormatOption, console, render
from eventkit.releases.annotations import chart_marks
from eventkit.reports import Report, ReportsService
from eventkit.reports.export import json_text
from eventkit.reports.params import ReportParams, run_report

__all__ = ["app"]

app = typer.Typer(help="Reports: trends, active users, top lists, funnels, retention.",
                  no_args_is_help=True)  # fmt: skip

SinceOpt = Annotated[str | None, typer.Option(help="From: ISO time or span back (default 30d).")]
UntilOpt = Annotated[str | None, typer.Option(help="Until, exclusive (default: now).")]
IntervalOpt = Annotated[str, typer.Option("--interval", "-i", help="hour, day, week or month.")]
ByOpt = Annotated[str | None, typer.Option(help="Break down by platform, app_version, country "
                                               "or an event property.")]  # fmt: skip
CohortOpt = Annotated[str | None, typer.Option(
    "--cohort", help="Only the members of this cohort (`eventkit cohorts list`)."
)]  # fmt: skip
WhereOpt = Annotated[list[str] | None, typer.Option(
    "--where", "-w", help="Filter key=value or key!=value (repeatable)."
)]  # fmt: skip


def _run(ctx: typer.Context, name: str, app_name: str | None, params: ReportParams) -> Report:
    st = state(ctx)
    engine = st.engine()
    service = ReportsService(engine, st.settings)
    app_id = one_app(engine, app_name).id
    if name in ("funnel", "retention"):
        with console.status(f"computing the {name}…"):
            return run_report(service, name, app_id, params)
    return run_report(service, name, app_id, params)


def show(report: Report, fmt: Format, *, chart: bool = False) -> None:
    """Print a report: summary and table (and chart) for people, JSON or CSV for scripts."""
    if fmt is Format.json:
        sys.stdout.write(json_text(report.to_dict()))
        return
    if fmt is Format.csv:
        render(report.rows, fmt, columns=report.columns)
        return
    if chart and sys.stdout.isatty() and report.rows:
        try:
            _chart(report)
        except Exception as exc:  # the chart is decoration: never lose the table over it
            console.print(f"[dim](no chart: {exc})[/dim]")
    render(report.rows, fmt, columns=report.columns, title=report.name, empty="no data in range")
    summary = {
        k: v for k, v in report.meta.items() if v is not None and not isinstance(v, list | dict)
    }
    console.print("  ".join(f"[bold]{k}[/bold] {v}" for k, v in summary.items()), highlight=False)
    for note in report.meta.get("annotations") or []:
        console.print(f"[magenta]▲ {note['at'][:16]}[/magenta] {note['text']}", highlight=False)


def _chart(report: Report) -> None:
    import plotext as plt

    measure = report.columns[-1]
    by = report.columns[1] if len(report.columns) == 3 else None
    series: dict[str, list[Any]] = {}
    labels: list[str] = []
    for row in report.rows:
        if row["bucket"] not in labels:
            labels.append(row["bucket"])
        series.setdefault(str(row[by]) if by else measure, []).append(row[measure])
    plt.clear_figure()
    plt.plotsize(min(console.width, 100), 15)
    for name, values in list(series.items())[:8]:
        plt.plot(list(range(len(values))), values, label=name)
    for index, text in chart_marks(labels, report.meta.get("annotations") or [])[-6:]:
        plt.vline(index, "magenta")
        plt.text(text[:24], index, 0, color="magenta")
    step = max(1, len(labels) // 8)
    plt.xticks(list(range(0, len(labels), step)), labels[::step])
    plt.title(f"{report.meta.get('event', '')} {measure}")
    plt.show()


@app.command("overview")
def overview_cmd(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, max=100, help="Rows of each top list.")] = 8,
    since: SinceOpt = None,
    until: UntilOpt = None,
    where: WhereOpt = None,
    app_name: AppOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """One app at a glance: events, DAU/WAU/MAU, sessions, top lists (the web's Overview)."""
    p = ReportParams(since=since, until=until, where=where or [], limit=limit)
    show(_run(ctx, "overview", app_name, p), fmt)


@app.command("trends")
def trends_cmd(
    ctx: typer.Context,
    event: Annotated[
        str | None, typer.Option("--event", "-e", help="Event name (default: all).")
    ] = None,
    measure: Annotated[
        str,
        typer.Option(
            "--measure",
            "-m",
            help="count, users, or AGG:PROPERTY: "
            "sum, avg, min, max, median, p90, per_user, per_payer (sum:amount).",
        ),
    ] = ("count"),
    compare: Annotated[
        bool, typer.Option("--compare", help="Compare with the previous period.")
    ] = False,
    since: SinceOpt = None,
    until: UntilOpt = None,
    interval: IntervalOpt = "day",
    by: ByOpt = None,
    where: WhereOpt = None,
    cohort: CohortOpt = None,
    app_name: AppOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Event count or unique users per hour/day/week/month (a chart on a terminal)."""
    p = ReportParams(cohort=cohort, since=since, until=until, interval=interval, by=by,
                     where=where or [], event=event, measure=measure,
                     compare=compare)  # fmt: skip
    show(_run(ctx, "trends", app_name, p), fmt, chart=True)


@app.command("active")
def active_cmd(
    ctx: typer.Context,
    since: SinceOpt = None,
    until: UntilOpt = None,
    interval: IntervalOpt = "day",
    where: WhereOpt = None,
    cohort: CohortOpt = None,
    app_name: AppOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """DAU per day (WAU per week, MAU per month), WAU, MAU and stickiness."""
    p = ReportParams(
        cohort=cohort, since=since, until=until, interval=interval, where=list(where or [])
    )
    show(_run(ctx, "active", app_name, p), fmt)


@app.command("top")
def top_cmd(
    ctx: typer.Context,
    kind: Annotated[
        str, typer.Argument(help="events, screens, platforms, app_versions or countries.")
    ] = "events",
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Most rows.")] = 20,
    since: SinceOpt = None,
    until: UntilOpt = None,
    where: WhereOpt = None,
    cohort: CohortOpt = None,
    app_name: AppOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """The most frequent events, screens, platforms, app versions or countries."""
    p = ReportParams(
        cohort=cohort, since=since, until=until, where=where or [], kind=kind, limit=limit
    )
    show(_run(ctx, "top", app_name, p), fmt)


@app.command("funnel")
def funnel_cmd(
    ctx: typer.Context,
    steps: Annotated[
        list[str], typer.Argument(help="Steps in order: EVENT or EVENT:key=value,key2=v2.")
    ],
    window: Annotated[str, typer.Option(help="Conversion window from step 1 (24h, 7d).")] = "1d",
    measure: Annotated[
        str,
        typer.Option(
            "--measure",
            "-m",
            help="Add a measure per step: "
            "AGG:PROPERTY, e.g. sum:amount, median:amount, per_user:amount.",
        ),
    ] = ("count"),
    users_at: Annotated[
        int | None, typer.Option("--users-at", help="List the users at step N.")
    ] = None,
    status: Annotated[
        str, typer.Option(help="With --users-at: converted or dropped.")
    ] = "converted",
    since: SinceOpt = None,
    until: UntilOpt = None,
    by: ByOpt = None,
    where: WhereOpt = None,
    cohort: CohortOpt = None,
    app_name: AppOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Conversion through ordered steps, drop-off and median time to convert."""
    p = ReportParams(cohort=cohort, since=since, until=until, by=by, where=where or [], steps=steps,
                     window=window, users_at=users_at, status=status, measure=measure)  # fmt: skip
    show(_run(ctx, "funnel", app_name, p), fmt)


@app.command("retention")
def retention_cmd(
    ctx: typer.Context,
    start_event: Annotated[
        str | None, typer.Option(help="Cohort by first doing this (default: first seen).")
    ] = None,
    return_event: Annotated[
        str | None, typer.Option(help="Returning means doing this (default: any).")
    ] = None,
    periods: Annotated[int, typer.Option(min=1, max=60, help="Periods (columns) shown.")] = 8,
    since: SinceOpt = None,
    until: UntilOpt = None,
    interval: IntervalOpt = "day",
    where: WhereOpt = None,
    cohort: CohortOpt = None,
    app_name: AppOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Cohorts by first seen (or first event A) and the share returning N days/weeks later."""
    p = ReportParams(cohort=cohort, since=since, until=until, interval=interval,
                     start_event=start_event, return_event=return_event, periods=periods,
                     where=list(where or []))  # fmt: skip
    show(_run(ctx, "retention", app_name, p), fmt)


@app.command("run")
def run_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A report added by a plugin (or a built-in).")],
    since: SinceOpt = None,
    until: UntilOpt = None,
    interval: IntervalOpt = "day",
    by: ByOpt = None,
    where: WhereOpt = None,
    cohort: CohortOpt = None,
    app_name: AppOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Run a report by name, e.g. one a plugin added (`eventkit plugins list`)."""
    p = ReportParams(
        cohort=cohort, since=since, until=until, interval=interval, by=by, where=where or []
    )
    show(_run(ctx, name, app_name, p), fmt)


from eventkit.cli.paths import paths_cmd  # noqa: E402 - registered after the helpers it uses

app.command("paths")(paths_cmd)
