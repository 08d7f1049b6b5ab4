"""The plugin manager: built-in plugins, those installed under the ``eventkit``
entry-point group, and the ``.py`` files of ``plugins.dir`` (docs/plugins.md).

Set ``EVENTKIT_LOAD_PLUGINS=0`` to skip installed (entry-point) plugins (tests do).
Hooks are called through :func:`call_hook`, which isolates each implementation: one
that raises is logged, counted and skipped, and the others' results are kept.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import pluggy

from eventkit.config import PluginSettings, load_settings
from eventkit.errors import ConfigError
from eventkit.plugins import hookspecs
from eventkit.plugins.loader import PluginInfo, discover, hook_names, load_plugins
from eventkit.plugins.stats import stats

__all__ = [
    "DEFAULT_PLUGINS",
    "EventkitPluginManager",
    "build_plugin_manager",
    "call_hook",
    "get_plugin_manager",
    "implementations",
    "plugin_infos",
]

log = logging.getLogger("eventkit.plugins")

#: Built-in modules registered as plugins (``eventkit/builtins/``). Each feature area
#: adds one line here.
DEFAULT_PLUGINS: tuple[str, ...] = (
    "eventkit.builtins.core",
    "eventkit.builtins.sessions",
    "eventkit.builtins.flags",
    "eventkit.builtins.reports",
    "eventkit.builtins.vendors",
    "eventkit.builtins.tracking",
    "eventkit.builtins.privacy",
    "eventkit.builtins.dashboard",
    "eventkit.builtins.storage",
    "eventkit.builtins.query",
    "eventkit.builtins.alerts",
    "eventkit.builtins.web",
)


class EventkitPluginManager(pluggy.PluginManager):
    """A pluggy manager that remembers where each plugin came from."""

    def __init__(self) -> None:
        super().__init__("eventkit")
        self.add_hookspecs(hookspecs)
        self.infos: list[PluginInfo] = []


def entry_points_enabled() -> bool:
    """False when ``EVENTKIT_LOAD_PLUGINS`` is 0, false or no."""
    return os.environ.get("EVENTKIT_LOAD_PLUGINS", "1").lower() not in ("0", "false", "no")


def build_plugin_manager(
    settings: PluginSettings, *, entry_points_on: bool | None = None
) -> EventkitPluginManager:
    """A new manager with every enabled plugin loaded (see :mod:`eventkit.plugins.loader`)."""
    pm = EventkitPluginManager()
    on = entry_points_enabled() if entry_points_on is None else entry_points_on
    pm.infos = load_plugins(pm, discover(DEFAULT_PLUGINS, settings, entry_points_on=on), settings)
    return pm


def _argv_config() -> Path | None:
    """``--config PATH`` of an ``eventkit`` command line: the CLI registers plugin
    commands when it is imported, before Typer parses the options."""
    if Path(sys.argv[0]).name not in ("eventkit", "__main__.py"):
        return None
    args = sys.argv[1:]
    for i, arg in enumerate(args):
        if not arg.startswith("-"):
            break  # root options come before the command
        if arg in ("--config", "-c") and i + 1 < len(args):
            return Path(args[i + 1])
        if arg.startswith("--config="):
            return Path(arg.partition("=")[2])
    return None


def _plugin_settings() -> PluginSettings:
    try:
        return load_settings(_argv_config()).plugins
    except ConfigError as exc:  # the command reports it when it loads the settings
        log.debug("plugins use defaults: %s", exc)
        return PluginSettings()


@lru_cache(maxsize=1)
def get_plugin_manager() -> EventkitPluginManager:
    """The process-wide plugin manager, created on first use. Its ``[plugins]``
    settings come from ``--config``, ``$EVENTKIT_CONFIG`` or ``./eventkit.toml``, and
    the environment."""
    return build_plugin_manager(_plugin_settings())


def implementations(pm: pluggy.PluginManager, hook: str) -> list[pluggy.HookImpl]:
    """The implementations of ``hook`` in call order (as pluggy calls them)."""
    caller: pluggy.HookCaller = getattr(pm.hook, hook)
    return list(reversed(caller.get_hookimpls()))


def call_impl(impl: pluggy.HookImpl, hook: str, kwargs: dict[str, Any]) -> tuple[bool, Any]:
    """Call one implementation with the arguments it takes; ``(ok, result)``. An
    exception is logged with a traceback and counted, and ``(False, None)`` returned."""
    try:
        return True, impl.function(*[kwargs[a] for a in impl.argnames])
    except Exception:
        stats.error(impl.plugin_name, hook)
        log.exception("plugin %r raised in %s; skipped", impl.plugin_name, hook)
        return False, None


def call_hook(pm: pluggy.PluginManager, hook: str, **kwargs: Any) -> list[Any]:
    """Call every implementation of ``hook``; the non-None results, in call order.

    Unlike ``pm.hook.NAME(...)``, an implementation that raises does not stop the
    others: it is logged, counted in ``eventkit_plugin_errors`` and skipped.
    """
    results = []
    for impl in implementations(pm, hook):
        ok, result = call_impl(impl, hook, kwargs)
        if ok and result is not None:
            results.append(result)
    return results


def iter_results(pm: pluggy.PluginManager, hook: str, **kwargs: Any) -> Iterator[Any]:
    """The items of every list-returning implementation of ``hook`` (routes, jobs…)."""
    for group in call_hook(pm, hook, **kwargs):
        yield from group


def plugin_infos(pm: EventkitPluginManager | None = None) -> list[PluginInfo]:
    """What was found and loaded, plus plugins registered by hand (source "registered")."""
    pm = pm or get_plugin_manager()
    infos = list(pm.infos)
    known = {i.name for i in infos}
    for name, plugin in pm.list_name_plugin():
        if name not in known and plugin is not None:
            module = getattr(plugin, "__name__", type(plugin).__name__)
            infos.append(PluginInfo(name, "registered", module, True, hook_names(pm, plugin)))
    return infos
