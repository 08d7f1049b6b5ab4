"""The Releases tab and annotations on the trends chart, on the release-health data set."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from eventkit.config import Settings
from eventkit.releases import run_releases
from eventkit.reports import ReportQuery, ReportsService
from eventkit.sessions.job import run_sessions_job
from eventkit.storage.apps import create_app
from eventkit.storage.engine import make_engine
from eventkit.storage.events import EventStore
from eventkit.storage.migrate import upgrade
from eventkit.timeutil import US_PER_DAY
from eventkit.tui.app import DashboardApp
from eventkit.tui.data import Dashboard
from eventkit.tui.widgets.chart import LineChart
from tests.conftest import make_settings
from tests.releases.dataset import END, dataset
from tests.tui.conftest import rows_of, settle, text_of


@pytest.fixture
def release_db(tmp_path: Path) -> Iterator[tuple[Engine, Settings]]:
    settings = make_settings(f"sqlite:///{tmp_path / 'r.db'}", SESSIONS__SETTLE_SECONDS="0")
    engine = make_engine(settings)
    upgrade(engine)
    create_app(engine, "demo")
    EventStore(engine).write(dataset())
    run_releases(engine, settings.releases)
    run_sessions_job(engine, settings, now=END)
    yield engine, settings
    engine.dispose()


def _app(engine: Engine, settings: Settings) -> DashboardApp:
    data = Dashboard(engine, settings, 1, "demo", clock=lambda: END - 1)
    return DashboardApp(data, start="reports", refresh_seconds=0, live_seconds=0)


async def test_releases_tab_shows_the_report(release_db: tuple[Engine, Settings]) -> None:
    engine, settings = release_db
    app = _app(engine, settings)
    async with app.run_test(size=(150, 42)) as pilot:
        await settle(pilot)
        await pilot.press("v")
        await settle(pilot)
        shown = rows_of(app.screen.query_one("#v-table"))
        midnight = END - 1 - (END - 1) % US_PER_DAY
        q = ReportQuery(app_id=1, since=midnight - 14 * US_PER_DAY, until=END - 1)
        report = ReportsService(engine, settings).releases(q)
        assert [r[:2] for r in shown] == [[r["app_version"], r["platform"]] for r in report.rows]
        first = report.rows[0]
        assert shown[0][5] == f"{first['crash_free_users_pct']:.2f}%"
        assert "ios 1.1" in text_of(app.screen.query_one("#v-summary"))
        # The trends chart marks the days the versions were first seen.
        await pilot.press("t")
        await settle(pilot)
        chart = app.screen.query_one(LineChart)
        assert len(chart.marks) == 4
        assert "first seen" in text_of(app.screen.query_one("#t-summary"))
