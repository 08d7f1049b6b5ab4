"""The reports service: the one place each report is computed. The CLI, the HTTP
read API and the dashboard call it and only present the :class:`Report`."""

from __future__ import annotations

from typing import cast

from sqlalchemy.engine import Engine

from eventkit.aggregation.rollups import dims_for
from eventkit.config import Settings
from eventkit.errors import PluginError
from eventkit.releases.annotations import annotations_between
from eventkit.reports.active import active_users
from eventkit.reports.custom import ReportSpec
from eventkit.reports.funnel import FunnelStep, Status, funnel, funnel_users
from eventkit.reports.measured import measure_funnel, measure_trends
from eventkit.reports.measures import parse_measure
from eventkit.reports.paths import PathsSpec, paths
from eventkit.reports.query import Report, ReportQuery
from eventkit.reports.releases import releases
from eventkit.reports.retention import retention
from eventkit.reports.top import TopKind, top
from eventkit.reports.trends import Measure, trends
from eventkit.storage.errors import map_db_errors

__all__ = ["ReportsService"]


class ReportsService:
    """Computes reports over one database. Each call reads one consistent snapshot."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self.rolled = set(dims_for(settings.aggregation))
        self.measures = list(settings.aggregation.measure_properties)

    def trends(
        self, q: ReportQuery, *, event: str | None = None, measure: Measure | str = "count",
        compare: bool = False, total: bool = True,
    ) -> Report:  # fmt: skip
        """Counts, unique users or a measure such as ``sum:amount`` per interval (see
        :func:`eventkit.reports.trends.trends`, :mod:`eventkit.reports.measures`)."""
        spec = parse_measure(measure)
        with map_db_errors(), self.engine.connect() as conn, conn.begin():
            if spec is not None:
                report = measure_trends(conn, q, event=event, spec=spec, compare=compare,
                                        props=self.measures, rolled=self.rolled)  # fmt: skip
            else:
                report = trends(conn, q, event=event, measure=cast(Measure, measure),
                                compare=compare, total=total, rolled=self.rolled)  # fmt: skip
            notes = annotations_between(conn, q.app_id, q.start, q.end)
        report.meta["annotations"] = [a.to_dict() for a in notes]
        return report

    def active(self, q: ReportQuery) -> Report:
        """DAU/WAU/MAU and stickiness."""
        with map_db_errors(), self.engine.connect() as conn, conn.begin():
            return active_users(conn, q, rolled=self.rolled)

    def top(
        self, q: ReportQuery, *, kind: TopKind = "events", limit: int = 20, users: bool = True
    ) -> Report:
        """Top events, screens, platforms, app versions or countries (``users=False``
        skips the unique users of each event)."""
        with map_db_errors(), self.engine.connect() as conn, conn.begin():
            return top(conn, q, kind=kind, limit=limit, rolled=self.rolled, users=users)

    def funnel(
        self, q: ReportQuery, steps: list[FunnelStep], *, window_seconds: int = 86_400,
        users_at: tuple[int, Status] | None = None, measure: str = "count",
    ) -> Report:  # fmt: skip
        """A funnel report, or with ``users_at=(step, status)`` the users at a step;
        ``measure`` (``sum:amount``, …) adds a column of that measure per step."""
        spec = parse_measure(measure)
        with map_db_errors(), self.engine.connect() as conn, conn.begin():
            if spec is not None and users_at is None:
                return measure_funnel(conn, q, steps, window_seconds=window_seconds, spec=spec)
            if users_at is not None:
                return funnel_users(conn, q, steps, window_seconds=window_seconds,
                                    step=users_at[0], status=users_at[1])  # fmt: skip
            return funnel(conn, q, steps, window_seconds=window_seconds)

    def retention(
        self, q: ReportQuery, *, start_event: str | None = None,
        return_event: str | None = None, periods: int = 8,
    ) -> Report:  # fmt: skip
        """A cohort retention table."""
        with map_db_errors(), self.engine.connect() as conn, conn.begin():
            return retention(conn, q, start_event=start_event, return_event=return_event,
                             periods=periods)  # fmt: skip

    def paths(self, q: ReportQuery, spec: PathsSpec) -> Report:
        """The most common paths within sessions (see :mod:`eventkit.reports.paths`)."""
        with map_db_errors(), self.engine.connect() as conn, conn.begin():
            return paths(conn, q, spec)

    def releases(
        self, q: ReportQuery, *, version: str | None = None, platform: str | None = None
    ) -> Report:
        """Release health per app version and platform (``version="latest"``: the
        newest of each platform)."""
        with map_db_errors(), self.engine.connect() as conn, conn.begin():
            return releases(conn, q, version=version, platform=platform)

    def custom(self, spec: ReportSpec, q: ReportQuery) -> Report:
        """A report contributed by a plugin (``eventkit_reports``)."""
        with map_db_errors(), self.engine.connect() as conn, conn.begin():
            result = spec.compute(conn, q)
        if not isinstance(result, Report):
            raise PluginError(
                f"report {spec.name!r} returned {type(result).__name__}, not a Report; "
                "fix the plugin's compute function"
            )
        return result
