"""Reports contributed by plugins (``eventkit_reports``): served by ``eventkit report
run NAME`` and ``GET /v1/reports/NAME`` next to the built-in ones."""

from __future__ import annotations

from eventkit.config import Settings
from eventkit.plugins.manager import get_plugin_manager, iter_results
from eventkit.plugins.specs import ReportSpec

__all__ = ["ReportSpec", "plugin_reports"]


def plugin_reports(settings: Settings) -> dict[str, ReportSpec]:
    """The reports of the loaded plugins, by name (a plugin that raises is skipped)."""
    specs: dict[str, ReportSpec] = {}
    for spec in iter_results(get_plugin_manager(), "eventkit_reports", settings=settings):
        specs.setdefault(spec.name, spec)
    return specs
