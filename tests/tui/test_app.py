"""The app around the screens: keys, command palette, help, the CLI command."""

from __future__ import annotations

from pathlib import Path

import msgspec
from sqlalchemy.engine import Engine
from textual.widgets import DataTable
from typer.testing import CliRunner

from eventkit.cli.app import app as cli_app
from eventkit.reports.rate import events_per_minute
from eventkit.storage.apps import create_app
from eventkit.storage.events import EventStore
from eventkit.tui.screens.apps import AppPicker
from eventkit.tui.screens.experiments import ExperimentsScreen
from eventkit.tui.screens.flags import FlagsScreen
from eventkit.tui.screens.help import HelpScreen
from eventkit.tui.screens.live import LiveScreen
from eventkit.tui.screens.overview import OverviewScreen
from eventkit.tui.screens.reports import ReportsScreen
from eventkit.tui.widgets.navbar import NavBar
from tests.tui.conftest import MakeApp, new_event, rows_of, settle, text_of
from tests.tui.dataset import END
from tests.tui.oracle import scalar


async def test_number_keys_switch_screens(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(140, 42)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, OverviewScreen)
        for key, kind in (("4", ReportsScreen), ("5", FlagsScreen), ("6", ExperimentsScreen),
                          ("1", OverviewScreen)):  # fmt: skip
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(app.screen, kind)


async def test_command_palette_goes_to_a_screen(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(140, 42)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.press(*"go to flags")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, FlagsScreen)


async def test_help_lists_every_screen_and_its_keys(make_app: MakeApp) -> None:
    app = make_app(start="flags")
    async with app.run_test(size=(140, 42)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        titles = [title for title, _ in app.screen.sections]
        assert titles == ["Everywhere", "Overview", "Live", "Explorer", "Reports", "Flags",
                          "Experiments"]  # fmt: skip
        await pilot.press("escape")
        assert isinstance(app.screen, FlagsScreen)


def test_events_per_minute_matches_a_count(demo_engine: Engine) -> None:
    since = END - 30 * 60_000_000
    counts = events_per_minute(demo_engine, 1, since, END)
    assert len(counts) == 30
    for i in (0, 10, 29):
        s = since + i * 60_000_000
        assert counts[i] == scalar(
            demo_engine, "SELECT COUNT(*) FROM events WHERE ts >= :s AND ts < :e",
            s=s, e=s + 60_000_000,
        )  # fmt: skip
    assert sum(counts) == scalar(
        demo_engine, "SELECT COUNT(*) FROM events WHERE ts >= :s AND ts < :e", s=since, e=END
    )


def test_cli_refuses_an_unknown_app(tmp_path: Path) -> None:
    env = {"EVENTKIT_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    runner = CliRunner()
    assert runner.invoke(cli_app, ["db", "upgrade"], env=env).exit_code == 0
    result = runner.invoke(cli_app, ["dashboard", "--app", "nope"], env=env)
    assert result.exit_code == 1
    assert "nope" in result.output
    result = runner.invoke(cli_app, ["dashboard", "--screen", "graphs"], env=env)
    assert result.exit_code == 2


async def test_switch_app_rebuilds_every_screen(make_app: MakeApp, demo_engine: Engine) -> None:
    other = create_app(demo_engine, "other").app_id
    EventStore(demo_engine).write(
        [
            msgspec.structs.replace(new_event("tap", f"u{i}", END - 60_000_000), app_id=other)
            for i in range(3)
        ]
    )
    app = make_app(start="live")
    async with app.run_test(size=(140, 42)) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, AppPicker)
        await pilot.press("down", "enter")  # the list is by name: demo, other
        await settle(pilot)
        assert isinstance(app.screen, LiveScreen)
        assert app.data.app_name == "other"
        assert "other" in str(app.screen.query_one(NavBar).content)
        assert [r[1] for r in rows_of(app.screen.query_one(DataTable))] == ["tap"] * 3
        await pilot.press("1")
        await settle(pilot)
        assert text_of(app.screen.query_one("#stat-today")).split("\n")[1] == "3"
