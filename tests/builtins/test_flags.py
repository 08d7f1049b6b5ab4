"""The built-in flags registration: loaded by default, its routes documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventkit.builtins import flags as plugin
from eventkit.plugins.manager import DEFAULT_PLUGINS, get_plugin_manager

DOCS = Path(__file__).parents[2] / "docs"


def test_registered_as_a_default_plugin() -> None:
    assert "eventkit.builtins.flags" in DEFAULT_PLUGINS
    assert get_plugin_manager().get_plugin("eventkit.builtins.flags") is not None


def _paths() -> list[str]:
    out = []
    for handler in plugin.eventkit_routes(settings=None):  # type: ignore[arg-type]
        out += [p.replace("{key:str}", "{key}") for p in handler.paths]
    return out


@pytest.mark.parametrize("path", _paths())
def test_every_flag_endpoint_is_documented(path: str) -> None:
    assert path in (DOCS / "mobile_api.md").read_text()
    assert path in (DOCS / "feature_flags.md").read_text()
