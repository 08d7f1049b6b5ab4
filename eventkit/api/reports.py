"""Read API for reports: ``GET /v1/reports/{name}`` (``reports:read``, the credential's
app only)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from litestar import get
from litestar.params import PathParameter, QueryParameter

from eventkit.api.deps import REPORTS_READ, AppKey, RuntimeDep
from eventkit.reports import ReportsService
from eventkit.reports.params import ReportParams, run_report

__all__ = ["get_report"]

Q = QueryParameter


@get(
    "/v1/reports/{name:str}",
    name="get-report",
    summary="Compute a report",
    description="trends, active, top, funnel, retention, paths or releases over the "
    "credential's app (docs/reports.md). Needs reports:read (a token, or the app's secret "
    "key).",
    tags=["read"],
    dependencies={"app_key": REPORTS_READ},
)
async def get_report(
    app_key: AppKey,
    runtime: RuntimeDep,
    name: Annotated[
        str,
        PathParameter(description="trends, active, top, funnel, retention, paths, releases."),
    ],
    since: Annotated[str | None, Q(description="ISO time or span back (30d).")] = None,
    until: Annotated[str | None, Q(description="ISO time or span back; exclusive.")] = None,
    interval: Annotated[str, Q(description="hour, day, week or month.")] = "day",
    by: Annotated[str | None, Q(description="Breakdown: a column or property.")] = None,
    where: Annotated[list[str] | None, Q(description="key=value or key!=value.")] = None,
    event: Annotated[str | None, Q(description="trends: event name.")] = None,
    measure: Annotated[
        str, Q(description="trends, funnel: count, users or AGG:PROPERTY (sum:amount).")
    ] = "count",
    compare: Annotated[bool, Q(description="trends: add the previous period.")] = False,
    kind: Annotated[str, Q(description="top: events, screens, platforms, …")] = "events",
    limit: Annotated[
        int | None, Q(ge=1, le=1000, description="top: most rows; paths: branches per step.")
    ] = None,
    steps: Annotated[
        list[str] | None, Q(description="funnel: EVENT[:k=v,…] in order; paths: one number.")
    ] = None,
    window: Annotated[str, Q(description="funnel: conversion window (24h, 7d).")] = "1d",
    users_at: Annotated[int | None, Q(description="funnel: list users at step N.")] = None,
    status: Annotated[str, Q(description="funnel: converted or dropped.")] = "converted",
    start_event: Annotated[str | None, Q(description="retention: cohort event.")] = None,
    return_event: Annotated[str | None, Q(description="retention: return event.")] = None,
    periods: Annotated[int, Q(ge=1, le=60, description="retention: periods.")] = 8,
    cohort: Annotated[str | None, Q(description="Only the members of this cohort.")] = None,
    after: Annotated[str | None, Q(description="paths: from this event.")] = None,
    before: Annotated[str | None, Q(description="paths: leading to this event.")] = None,
    version: Annotated[str | None, Q(description="releases: a version, or latest.")] = None,
    platform: Annotated[str | None, Q(description="releases: one platform.")] = None,
) -> dict[str, Any]:
    """The report as JSON: ``{"report", "meta", "rows"}``."""
    params = ReportParams(
        since=since, until=until, interval=interval, by=by, where=where or [], event=event,
        measure=measure, compare=compare, kind=kind, limit=limit or 20, steps=steps or [],
        window=window, users_at=users_at, status=status, start_event=start_event,
        return_event=return_event, periods=periods, cohort=cohort, after=after,
        before=before, branches=limit or 5, version=version, platform=platform,
    )  # fmt: skip
    service = ReportsService(runtime.engine, runtime.settings)
    report = await asyncio.to_thread(run_report, service, name, app_key.app_id, params)
    return report.to_dict()
