"""The plugin manager: built-in plugins plus those installed under the ``eventkit``
entry-point group. Set ``EVENTKIT_LOAD_PLUGINS=0`` to load built-ins only (tests do)."""

from __future__ import annotations

import importlib
import logging
import os
from functools import lru_cache
from importlib.metadata import entry_points

import pluggy

from eventkit.plugins import hookspecs

__all__ = ["DEFAULT_PLUGINS", "get_plugin_manager"]

log = logging.getLogger("eventkit.plugins")

#: Built-in modules registered as plugins. Each feature area adds one line here.
DEFAULT_PLUGINS: tuple[str, ...] = (
    "eventkit.sessions.plugin",
    "eventkit.flags.plugin",
    "eventkit.reports.plugin",
    "eventkit.storage.plugin",
)


@lru_cache(maxsize=1)
def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, created on first use."""
    pm = pluggy.PluginManager("eventkit")
    pm.add_hookspecs(hookspecs)
    for name in DEFAULT_PLUGINS:
        pm.register(importlib.import_module(name), name=name)
    if os.environ.get("EVENTKIT_LOAD_PLUGINS", "1") not in ("0", "false", "no"):
        for ep in entry_points(group="eventkit"):
            if pm.get_plugin(ep.name) is not None:
                continue
            try:
                pm.register(ep.load(), name=ep.name)
            except Exception as exc:  # a broken plugin must not take eventkit down
                log.error(
                    "plugin %r (%s) failed to load and was skipped: %s", ep.name, ep.value, exc
                )
    return pm
