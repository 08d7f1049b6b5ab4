"""Finding and loading plugins: built-ins, the ``eventkit`` entry-point group, and the
``.py`` files of ``plugins.dir``. Each one is loaded on its own: one that fails to
import is recorded with its error, counted and skipped, and the others still load."""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from eventkit.config import PluginSettings
from eventkit.plugins.stats import stats

__all__ = ["Candidate", "PluginInfo", "discover", "load_plugins"]

log = logging.getLogger("eventkit.plugins")

#: A plugin module sets this to False to stay off until named in ``plugins.enable``.
DEFAULT_ENABLED_ATTR = "EVENTKIT_DEFAULT_ENABLED"


@dataclass
class PluginInfo:
    """What ``eventkit plugins list`` shows about one plugin."""

    name: str
    #: builtin, entry point, file, or registered (by hand, e.g. in tests).
    source: str
    #: The module, ``value (distribution version)``, or the file path.
    location: str
    enabled: bool
    hooks: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class Candidate:
    """A plugin found but not imported yet."""

    name: str
    source: str
    location: str
    load: Callable[[], Any]


def _entry_point_location(ep: EntryPoint) -> str:
    dist = ep.dist
    return f"{ep.value} ({dist.name} {dist.version})" if dist is not None else ep.value


def _file_loader(path: Path) -> Callable[[], ModuleType]:
    def load() -> ModuleType:
        name = f"eventkit_plugins_dir.{path.stem}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot import {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(name, None)
            raise
        return module

    return load


def discover(
    builtins: Iterable[str], settings: PluginSettings, *, entry_points_on: bool = True
) -> list[Candidate]:
    """Every plugin that could load, in load order: built-ins, entry points (by name),
    then the directory's files (by name)."""
    found = [
        Candidate(name, "builtin", name, lambda n=name: importlib.import_module(n))  # type: ignore[misc]
        for name in builtins
    ]
    if entry_points_on:
        for ep in sorted(entry_points(group="eventkit"), key=lambda e: e.name):
            found.append(Candidate(ep.name, "entry point", _entry_point_location(ep), ep.load))
    if settings.dir:
        directory = Path(settings.dir).expanduser()
        if directory.is_dir():
            for path in sorted(directory.glob("*.py")):
                if not path.name.startswith("_"):
                    found.append(Candidate(path.stem, "file", str(path), _file_loader(path)))
        else:
            log.error("plugins.dir %s is not a directory; no plugins loaded from it", directory)
    return found


def hook_names(pm: pluggy.PluginManager, plugin: object) -> list[str]:
    """The hooks ``plugin`` implements."""
    callers = pm.get_hookcallers(plugin) or []
    return sorted(c.name for c in callers)


def load_plugins(
    pm: pluggy.PluginManager, candidates: Iterable[Candidate], settings: PluginSettings
) -> list[PluginInfo]:
    """Import and register every enabled candidate; return what happened to each.

    A plugin named in ``settings.disable`` is not imported at all. One whose module
    sets ``EVENTKIT_DEFAULT_ENABLED = False`` is registered only when named in
    ``settings.enable``.
    """
    infos: list[PluginInfo] = []
    disabled, enabled = set(settings.disable), set(settings.enable)
    for c in candidates:
        info = PluginInfo(c.name, c.source, c.location, enabled=False)
        infos.append(info)
        if c.name in disabled:
            continue
        if pm.has_plugin(c.name):
            info.error = f"another plugin named {c.name!r} is already loaded"
            log.error("plugin %r (%s) skipped: %s", c.name, c.location, info.error)
            continue
        try:
            module = c.load()
        except Exception as exc:  # a broken plugin must not take eventkit down
            info.error = f"{type(exc).__name__}: {exc}"
            stats.error(c.name, "load")
            log.error("plugin %r (%s) failed to load and was skipped: %s", c.name, c.location, exc)
            continue
        if not getattr(module, DEFAULT_ENABLED_ATTR, True) and c.name not in enabled:
            continue
        try:
            pm.register(module, name=c.name)
        except Exception as exc:  # e.g. a hookimpl whose arguments match no hookspec
            info.error = f"{type(exc).__name__}: {exc}"
            stats.error(c.name, "load")
            log.error(
                "plugin %r (%s) failed to register and was skipped: %s", c.name, c.location, exc
            )
            continue
        info.enabled = True
        info.hooks = hook_names(pm, module)
    for name in sorted(enabled - {i.name for i in infos}):
        log.error("plugins.enable names %r, but no plugin of that name was found", name)
    return infos
