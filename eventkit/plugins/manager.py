"""The plugin manager: built-in plugins plus those installed under the ``eventkit``
entry-point group. Set ``EVENTKIT_LOAD_PLUGINS=0`` to load built-ins only (tests do)."""

from __future__ import annotations

import importlib
import logging
import os
from functools import lru_cache

import pluggy

from eventkit.plugins import hookspecs

__all__ = ["DEFAULT_PLUGINS", "get_plugin_manager"]

log = logging.getLogger("eventkit.plugins")

#: Built-in modules registered as plugins. Each feature area adds one line here.
DEFAULT_PLUGINS: tuple[str, ...] = ()


@lru_cache(maxsize=1)
def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, created on first use."""
    pm = pluggy.PluginManager("eventkit")
    pm.add_hookspecs(hookspecs)
    for name in DEFAULT_PLUGINS:
        pm.register(importlib.import_module(name), name=name)
    if os.environ.get("EVENTKIT_LOAD_PLUGINS", "1") not in ("0", "false", "no"):
        try:
            pm.load_setuptools_entrypoints("eventkit")
        except Exception as exc:  # a broken plugin must not take eventkit down
            log.error("a plugin failed to load and was skipped: %s", exc)
    return pm
