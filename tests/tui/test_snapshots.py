"""SVG snapshots of every screen on the deterministic demo data (pytest-textual-snapshot).

After an intended change to what a screen shows, review and accept the new pictures
with ``pytest tests/tui/test_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from eventkit.storage.apps import create_app
from tests.tui.conftest import SIZE, MakeApp, dashboard_app, settle

Snap = Callable[..., bool]


@pytest.mark.parametrize(
    "screen", ["overview", "live", "explorer", "reports", "flags", "experiments"]
)
def test_screen(snap_compare: Snap, make_app: MakeApp, screen: str) -> None:
    assert snap_compare(make_app(start=screen), terminal_size=SIZE, run_before=settle)


def test_funnel_and_retention(snap_compare: Snap, make_app: MakeApp) -> None:
    async def funnel(pilot: Any) -> None:
        await settle(pilot)
        await pilot.press("f")
        await settle(pilot)

    async def retention(pilot: Any) -> None:
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)

    assert snap_compare(make_app(start="reports"), terminal_size=SIZE, run_before=funnel)
    assert snap_compare(make_app(start="reports"), terminal_size=SIZE, run_before=retention)


def test_help(snap_compare: Snap, make_app: MakeApp) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, press=["question_mark"],
                        run_before=settle)  # fmt: skip


def test_empty_app(snap_compare: Snap, empty_engine: tuple[Engine, Any]) -> None:
    engine, settings = empty_engine
    create_app(engine, "fresh")
    app = dashboard_app(engine, settings, "fresh")
    assert snap_compare(app, terminal_size=SIZE, run_before=settle)
