"""Fixture plugins registered on the process's plugin manager for one test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import ModuleType

import pytest

from eventkit.plugins.manager import get_plugin_manager
from eventkit.plugins.stats import stats

Use = Callable[..., None]


@pytest.fixture
def use_plugins() -> Iterator[Use]:
    """``use_plugins(module, ...)`` registers fixture plugins until the test ends."""
    pm = get_plugin_manager()
    added: list[ModuleType] = []

    def use(*modules: ModuleType) -> None:
        for module in modules:
            pm.register(module, name=module.__name__.rsplit(".", 1)[-1])
            added.append(module)

    stats.reset()
    yield use
    for module in added:
        pm.unregister(module)
    stats.reset()
