"""Reports contributed by plugins (``eventkit_reports``): served by ``eventkit report
run NAME`` and ``GET /v1/reports/NAME`` next to the built-in ones."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from eventkit.config import Settings
from eventkit.reports.query import Report, ReportQuery

__all__ = ["ReportSpec", "plugin_reports"]


@dataclass(frozen=True)
class ReportSpec:
    """A report from a plugin.

    ``compute(conn, query)`` reads the database through ``conn`` (one read transaction)
    for ``query`` (app, time range, interval, breakdown, ``where`` filters) and returns
    a :class:`Report`.
    """

    name: str
    compute: Callable[[Connection, ReportQuery], Report]
    description: str = ""


def plugin_reports(settings: Settings) -> dict[str, ReportSpec]:
    """The reports of the loaded plugins, by name (a plugin that raises is skipped)."""
    from eventkit.plugins.manager import get_plugin_manager, iter_results

    specs: dict[str, ReportSpec] = {}
    for spec in iter_results(get_plugin_manager(), "eventkit_reports", settings=settings):
        specs.setdefault(spec.name, spec)
    return specs
