"""What a page is computed from (:class:`View`) and what it gives back (:class:`Page`).
Framework-free: the routes build a View from the request, call a page function, and
present its Page as HTML, JSON or CSV."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.engine import Engine

from eventkit.accounts.access import PAGES, Principal
from eventkit.config import Settings
from eventkit.errors import InvalidRequestError
from eventkit.reports import ReportsService
from eventkit.reports.params import ReportParams
from eventkit.storage.apps import AppInfo
from eventkit.timeutil import now_us

__all__ = ["RANGES", "Page", "View"]

#: The date-range picker's presets (``since`` values; ``until`` is now).
RANGES = (("24h", "24 hours"), ("7d", "7 days"), ("30d", "30 days"), ("90d", "90 days"))
_MAX_PARAM = 500


@dataclass
class Page:
    """A computed page: the template and its values, and the data of its twins."""

    template: str
    title: str
    context: dict[str, Any]
    #: The ``.json`` twin (what the CLI prints with ``--format json``).
    data: Any
    #: The ``.csv`` twin's rows and columns (None: no CSV form).
    rows: Sequence[dict[str, Any]] | None = None
    columns: Sequence[str] | None = None


@dataclass
class View:
    """One request for one page of one app."""

    engine: Engine
    settings: Settings
    principal: Principal
    app: AppInfo
    apps: list[AppInfo]
    page: str
    query: Mapping[str, list[str]]
    #: URL prefix of this app's pages: ``/apps/NAME`` or ``/share/TOKEN`` (after base_path).
    base: str
    clock: Callable[[], int] = now_us
    service: ReportsService = field(init=False)

    def __post_init__(self) -> None:
        self.service = ReportsService(self.engine, self.settings)

    # -- parameters --------------------------------------------------------------------

    def arg(self, name: str, default: str = "") -> str:
        """The last value of query parameter ``name`` (stripped), or ``default``."""
        values = self.query.get(name) or []
        value = values[-1].strip() if values else ""
        if len(value) > _MAX_PARAM:
            raise InvalidRequestError(f"{name}: at most {_MAX_PARAM} characters")
        return value or default

    def args(self, name: str) -> list[str]:
        """Every non-empty value of a repeatable parameter (``where``, ``step``)."""
        return [v.strip() for v in self.query.get(name, []) if v.strip()][:20]

    def number(self, name: str, default: int, low: int, high: int) -> int:
        """An integer parameter within ``low..high``."""
        text = self.arg(name)
        if not text:
            return default
        if not text.lstrip("-").isdigit() or not low <= int(text) <= high:
            raise InvalidRequestError(f"{name} must be a whole number from {low} to {high}")
        return int(text)

    def flag(self, name: str) -> bool:
        """A checkbox parameter."""
        return self.arg(name).lower() in ("1", "true", "on", "yes")

    def report_params(self, **extra: Any) -> ReportParams:
        """The shared report parameters of the URL (default range: the last 30 days)."""
        values: dict[str, Any] = {
            "since": self.arg("since", "30d"),
            "until": self.arg("until") or None,
            "interval": self.arg("interval", "day"),
            "by": self.arg("by") or None,
            "where": self.args("where"),
        }
        return ReportParams(**{**values, **extra})

    # -- links -------------------------------------------------------------------------

    def state(self, **changes: str | list[str] | None) -> list[tuple[str, str]]:
        """The URL's parameters with ``changes`` (None or '' removes one)."""
        pairs = [(k, v) for k, vs in self.query.items() for v in vs if k not in changes]
        for k, v in changes.items():
            if isinstance(v, list):
                pairs += [(k, x) for x in v if x]
            elif v:
                pairs.append((k, v))
        return [(k, v) for k, v in pairs if v != "" and k != "format"]

    def link(self, page: str | None = None, suffix: str = "", **changes: Any) -> str:
        """This page (or ``page`` of the same app) with the URL's state and ``changes``."""
        keep = (
            self.state(**changes)
            if page in (None, self.page)
            else [(k, v) for k, v in self.state(**changes) if k in ("since", "until", "where")]
        )
        qs = urlencode(keep)
        return f"{self.base}/{page or self.page}{suffix}" + (f"?{qs}" if qs else "")

    def nav(self) -> list[str]:
        """The pages this principal may open, in order."""
        return [p for p in PAGES if self.principal.sees_page(p)]
