"""The plugin stage of the ingest pipeline: ``eventkit_validate_event`` then
``eventkit_enrich_event`` for each event of a batch.

It runs before the IP stage, so enrichers see the full client address (GeoIP). When no
loaded plugin implements either hook the factory returns None and the stage costs
nothing. A hook that raises is logged, counted and skipped: a validator that raises
does not reject, and an enricher that raises leaves the event as it was.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pluggy
from sqlalchemy.engine import Engine

from eventkit.capture.schema import CanonicalEvent
from eventkit.config import Settings
from eventkit.ingest.pipeline import Batch, Stage
from eventkit.plugins.manager import call_impl, get_plugin_manager, implementations
from eventkit.plugins.stats import stats

__all__ = ["ENRICH", "VALIDATE", "PluginStage", "plugin_stage"]

VALIDATE = "eventkit_validate_event"
ENRICH = "eventkit_enrich_event"


def _copy(event: CanonicalEvent) -> CanonicalEvent:
    """A copy an enricher may change without touching the original (top-level dicts
    are copied; ``msgspec.Raw`` JSON text is immutable)."""
    props, ctx = event.properties, event.context
    return msgspec.structs.replace(
        event,
        properties=dict(props) if isinstance(props, dict) else props,
        context=dict(ctx) if isinstance(ctx, dict) else ctx,
    )


def _reasons(plugin: str, value: Any) -> list[tuple[str, str]]:
    """A validator's answer as (field, message) pairs; a malformed one counts as a
    failure of that plugin (the event is not rejected for it)."""
    try:
        return [(str(f), str(m)) for f, m in value]
    except (TypeError, ValueError):
        stats.error(plugin, VALIDATE)
        return []


class PluginStage:
    """Runs the validators and enrichers of the loaded plugins on a batch."""

    def __init__(
        self,
        settings: Settings,
        validators: list[pluggy.HookImpl],
        enrichers: list[pluggy.HookImpl],
    ) -> None:
        self.settings = settings
        self.validators = validators
        self.enrichers = enrichers

    def __call__(self, batch: Batch) -> None:
        args: dict[str, Any] = {"settings": self.settings, "user_agent": batch.user_agent}
        for i, event in enumerate(batch.events):
            args["event"] = event
            reasons: list[tuple[str, str]] = []
            for impl in self.validators:
                ok, value = call_impl(impl, VALIDATE, args)
                if ok and value:
                    reasons += _reasons(impl.plugin_name, value)
            if reasons:
                batch.reject(i, reasons)
                continue
            current = event
            for impl in self.enrichers:
                args["event"] = trial = _copy(current)
                ok, value = call_impl(impl, ENRICH, args)
                if not ok:
                    continue  # the event stays as it was before this plugin
                if value is False:
                    batch.drop(i)
                    break
                current = value if isinstance(value, CanonicalEvent) else trial
            else:
                batch.events[i] = current


def plugin_stage(
    settings: Settings, engine: Engine | None, pm: pluggy.PluginManager | None = None
) -> Stage | None:
    """The plugin stage, or None when no plugin validates or enriches events."""
    pm = pm or get_plugin_manager()
    validators = implementations(pm, VALIDATE)
    enrichers = implementations(pm, ENRICH)
    if not validators and not enrichers:
        return None
    return PluginStage(settings, validators, enrichers)
