"""Read API for reports: ``GET /v1/reports/{name}`` (secret key, the key's app only)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from litestar import get
from litestar.params import PathParameter, QueryParameter

from eventkit.api.deps import SECRET_KEY, AppKey, RuntimeDep
from eventkit.reports import ReportsService
from eventkit.reports.params import ReportParams, run_report

__all__ = ["get_report"]

Q = QueryParameter


@get(
    "/v1/reports/{name:str}",
    name="get-report",
    summary="Compute a report",
    description="trends, active, top, funnel, retention or releases over the key's app "
    "(docs/reports.md). Needs the app's secret key.",
    tags=["read"],
    dependencies={"app_key": SECRET_KEY},
)
async def get_report(
    app_key: AppKey,
    runtime: RuntimeDep,
    name: Annotated[str, PathParameter(description="A report: trends, active, releases, …")],
    since: Annotated[str | None, Q(description="ISO time or span back (30d).")] = None,
    until: Annotated[str | None, Q(description="ISO time or span back; exclusive.")] = None,
    interval: Annotated[str, Q(description="hour, day, week or month.")] = "day",
    by: Annotated[str | None, Q(description="Breakdown: a column or property.")] = None,
    where: Annotated[list[str] | None, Q(description="key=value or key!=value.")] = None,
    event: Annotated[str | None, Q(description="trends: event name.")] = None,
    measure: Annotated[str, Q(description="trends: count or users.")] = "count",
    compare: Annotated[bool, Q(description="trends: add the previous period.")] = False,
    kind: Annotated[str, Q(description="top: events, screens, platforms, …")] = "events",
    limit: Annotated[int, Q(ge=1, le=1000, description="top: most rows.")] = 20,
    steps: Annotated[list[str] | None, Q(description="funnel: EVENT[:k=v,…] in order.")] = None,
    window: Annotated[str, Q(description="funnel: conversion window (24h, 7d).")] = "1d",
    users_at: Annotated[int | None, Q(description="funnel: list users at step N.")] = None,
    status: Annotated[str, Q(description="funnel: converted or dropped.")] = "converted",
    start_event: Annotated[str | None, Q(description="retention: cohort event.")] = None,
    return_event: Annotated[str | None, Q(description="retention: return event.")] = None,
    periods: Annotated[int, Q(ge=1, le=60, description="retention: periods.")] = 8,
    version: Annotated[str | None, Q(description="releases: a version, or latest.")] = None,
    platform: Annotated[str | None, Q(description="releases: one platform.")] = None,
) -> dict[str, Any]:
    """The report as JSON: ``{"report", "meta", "rows"}``."""
    params = ReportParams(
        since=since, until=until, interval=interval, by=by, where=where or [], event=event,
        measure=measure, compare=compare, kind=kind, limit=limit, steps=steps or [],
        window=window, users_at=users_at, status=status, start_event=start_event,
        return_event=return_event, periods=periods, version=version, platform=platform,
    )  # fmt: skip
    service = ReportsService(runtime.engine, runtime.settings)
    report = await asyncio.to_thread(run_report, service, name, app_key.app_id, params)
    return report.to_dict()
