"""The values plugins return from their hooks: scheduled jobs and reports.

They live here, beside the hook specifications, so that the plugin package depends on
no feature package: the scheduler and the reports service import these types, never the
other way round.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["JobSpec", "ReportSpec"]


@dataclass(frozen=True)
class JobSpec:
    """A periodic job (``eventkit_scheduled_jobs``). ``func`` is a plain blocking
    function, run in a worker thread on the one process that holds the job's lease."""

    id: str
    func: Callable[[], Any]
    seconds: float
    description: str = ""


@dataclass(frozen=True)
class ReportSpec:
    """A report from a plugin (``eventkit_reports``).

    ``compute(conn, query)`` reads the database through ``conn`` (a SQLAlchemy
    ``Connection`` in one read transaction) for ``query`` (an
    ``eventkit.reports.query.ReportQuery``: app, time range, interval, breakdown,
    ``where`` filters) and returns an ``eventkit.reports.query.Report``.
    """

    name: str
    compute: Callable[[Any, Any], Any]
    description: str = ""
