"""Report parameters as the interfaces receive them (text), validated once and
dispatched to :class:`ReportsService`. The CLI and the HTTP API both use this."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast, get_args

from sqlalchemy import text

from eventkit.errors import InvalidRequestError, NotFoundError
from eventkit.reports.custom import plugin_reports
from eventkit.reports.funnel import Status, parse_step
from eventkit.reports.measures import parse_measure
from eventkit.reports.overview import overview
from eventkit.reports.paths import By, PathsSpec
from eventkit.reports.query import INTERVALS, Filter, Report, ReportQuery, iso, parse_filter
from eventkit.reports.service import ReportsService
from eventkit.reports.source import COHORT_KEY
from eventkit.reports.top import TOP_KINDS
from eventkit.storage.errors import map_db_errors
from eventkit.timeutil import US_PER_DAY, now_us, parse_when

__all__ = ["REPORTS", "ReportParams", "parse_span", "run_report"]

#: Report names, as in ``eventkit report NAME`` and ``GET /v1/reports/NAME``.
REPORTS = ("overview", "trends", "active", "top", "funnel", "retention", "paths", "releases")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_span(text: str) -> int:
    """Seconds in ``90``, ``30m``, ``24h``, ``7d`` or ``2w``."""
    t = text.strip()
    if t.isdigit():
        return int(t)
    if t and t[-1] in _UNITS and t[:-1].isdigit():
        return int(t[:-1]) * _UNITS[t[-1]]
    raise InvalidRequestError(f"cannot read the span {text!r}: use seconds or 30m, 24h, 7d, 2w")


def _when(value: str | None, default: int, name: str) -> int:
    if value is None or value == "":
        return default
    try:
        return parse_when(value)
    except ValueError as exc:
        raise InvalidRequestError(f"{name}: {exc}") from None


@dataclass
class ReportParams:
    """Every report option; each report reads the ones it takes."""

    since: str | None = None
    until: str | None = None
    interval: str = "day"
    by: str | None = None
    where: list[str] = field(default_factory=list)
    event: str | None = None
    measure: str = "count"
    compare: bool = False
    kind: str = "events"
    #: Rows of a top list (and of the overview's top lists).
    limit: int = 20
    steps: list[str] = field(default_factory=list)
    window: str = "1d"
    users_at: int | None = None
    status: str = "converted"
    start_event: str | None = None
    return_event: str | None = None
    periods: int = 8
    after: str | None = None
    before: str | None = None
    depth: int = 5
    branches: int = 5
    cohort: str | None = None
    version: str | None = None
    platform: str | None = None

    def query(self, app_id: int, default_days: int = 30) -> ReportQuery:
        """The shared :class:`ReportQuery` (default range: the last 30 days)."""
        if self.interval not in INTERVALS:
            raise InvalidRequestError(f"interval must be one of {', '.join(INTERVALS)}")
        until = _when(self.until, now_us(), "until")
        since = _when(self.since, until - default_days * US_PER_DAY, "since")
        return ReportQuery(
            app_id=app_id,
            since=since,
            until=until,
            interval=self.interval,
            by=self.by or None,
            where=(
                *(parse_filter(w) for w in self.where),
                *((Filter(COHORT_KEY, self.cohort),) if self.cohort else ()),
            ),
        )


def run_report(service: ReportsService, name: str, app_id: int, p: ReportParams) -> Report:
    """Compute report ``name`` for ``app_id``.

    Raises:
        InvalidRequestError: an unknown report or an invalid parameter.
    """
    q = p.query(app_id)
    refreshed = _check_cohort(service, app_id, p.cohort)
    report = _dispatch(service, name, app_id, p, q)
    if p.cohort:
        report.meta.update(cohort=p.cohort, cohort_refreshed_at=refreshed)
    return report


def _check_cohort(service: ReportsService, app_id: int, name: str | None) -> str | None:
    """The cohort's last refresh (ISO), or None without a cohort.

    Raises:
        NotFoundError: the app has no cohort of that name.
    """
    if not name:
        return None
    with map_db_errors(), service.engine.connect() as conn:
        row = conn.execute(
            text("SELECT refreshed_at FROM cohorts WHERE app_id = :a AND name = :n"),
            {"a": app_id, "n": name},
        ).first()
    if row is None:
        raise NotFoundError(
            f"no cohort named {name!r} in this app: `eventkit cohorts list --app …` shows them"
        )
    return iso(int(row[0]), "hour") if row[0] is not None else None


def _dispatch(
    service: ReportsService, name: str, app_id: int, p: ReportParams, q: ReportQuery
) -> Report:
    """Compute report ``name``."""
    if name == "overview":
        return overview(service, q, top=p.limit)
    if name == "trends":
        parse_measure(p.measure)  # a clear error for a bad measure
        return service.trends(q, event=p.event or None, measure=p.measure, compare=p.compare)
    if name == "active":
        return service.active(q)
    if name == "top":
        if p.kind not in TOP_KINDS:
            raise InvalidRequestError(f"kind must be one of {', '.join(TOP_KINDS)}")
        return service.top(q, kind=p.kind, limit=p.limit)
    if name == "funnel":
        if p.status not in get_args(Status):
            raise InvalidRequestError("status must be converted or dropped")
        users_at = (p.users_at, cast(Status, p.status)) if p.users_at else None
        if p.measure == "users":
            raise InvalidRequestError("a funnel counts users already: use a measure such as "
                                      "sum:amount, or leave --measure out")  # fmt: skip
        parse_measure(p.measure)
        return service.funnel(
            q,
            [parse_step(s) for s in p.steps],
            window_seconds=parse_span(p.window),
            users_at=users_at,
            measure=p.measure,
        )
    if name == "retention":
        return service.retention(
            q, start_event=p.start_event, return_event=p.return_event, periods=p.periods
        )
    if name == "paths":
        return _paths(service, p, app_id)
    if name == "releases":
        return service.releases(q, version=p.version or None, platform=p.platform or None)
    custom = plugin_reports(service.settings)
    if name in custom:
        return service.custom(custom[name], q)
    names = [*REPORTS, *sorted(custom)]
    raise InvalidRequestError(f"unknown report {name!r}: use one of {', '.join(names)}")


def _paths(service: ReportsService, p: ReportParams, app_id: int) -> Report:
    """Paths read ``by`` as the node kind (screen or event), not a breakdown, and a
    single number in ``steps`` (the HTTP API's name) as the depth."""
    node = p.by or "screen"
    if node not in ("screen", "event"):
        raise InvalidRequestError("paths: by must be screen or event")
    depth = p.depth
    if p.steps:
        if len(p.steps) != 1 or not p.steps[0].isdigit():
            raise InvalidRequestError("paths: steps must be one number, e.g. steps=5")
        depth = int(p.steps[0])
    spec = PathsSpec(after=p.after or None, before=p.before or None, steps=depth,
                     by=cast(By, node), limit=p.branches)  # fmt: skip
    if p.where:
        raise InvalidRequestError("paths take no --where filter; narrow them with --cohort")
    q = ReportParams(since=p.since, until=p.until, cohort=p.cohort).query(app_id)
    return service.paths(q, spec)
