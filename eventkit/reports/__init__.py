"""Reports: trends, active users, top lists, funnels, retention (docs/reports.md).

Domain code only: interfaces present the :class:`Report` a :class:`ReportsService`
returns."""

from eventkit.reports.funnel import FunnelStep, parse_step
from eventkit.reports.query import Filter, Report, ReportQuery, parse_filter
from eventkit.reports.service import ReportsService

__all__ = [
    "Filter",
    "FunnelStep",
    "Report",
    "ReportQuery",
    "ReportsService",
    "parse_filter",
    "parse_step",
]
