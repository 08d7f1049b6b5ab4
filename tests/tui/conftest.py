"""Fixtures: the deterministic demo database (built once per test process, copied per
test) and dashboard apps on it with the clock pinned to the demo's end."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from sqlalchemy.engine import Engine
from textual.pilot import Pilot
from textual.widgets import DataTable

from eventkit.capture.schema import CanonicalEvent
from eventkit.config import Settings
from eventkit.storage.apps import list_apps
from eventkit.storage.engine import make_engine
from eventkit.storage.migrate import upgrade
from eventkit.tui.app import DashboardApp
from eventkit.tui.data import Dashboard
from tests.conftest import make_settings
from tests.tui.dataset import END, build_demo_db, copy_db

MakeApp = Callable[..., DashboardApp]
SIZE = (140, 42)


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo database file, built once per test process."""
    path = tmp_path_factory.mktemp("tui-demo") / "demo.db"
    build_demo_db(make_settings(f"sqlite:///{path}"))
    return path


@pytest.fixture
def demo_settings(demo_template: Path, tmp_path: Path) -> Settings:
    """Settings on a private copy of the demo database (tests may change it)."""
    target = tmp_path / "eventkit.db"
    copy_db(demo_template, target)
    return make_settings(f"sqlite:///{target}")


@pytest.fixture
def demo_engine(demo_settings: Settings) -> Iterator[Engine]:
    """An engine on the test's copy of the demo database."""
    engine = make_engine(demo_settings)
    yield engine
    engine.dispose()


def dashboard_app(engine: Engine, settings: Settings, app_name: str | None = "demo",
                  **kwargs: Any) -> DashboardApp:  # fmt: skip
    """A dashboard on ``app_name`` (None: no app) with the clock at the demo's end and
    no timers (tests poll explicitly)."""
    ids = {a.name: a.id for a in list_apps(engine)}
    data = Dashboard(engine, settings, ids.get(app_name or ""), app_name, clock=lambda: END)
    kwargs.setdefault("refresh_seconds", 0)
    kwargs.setdefault("live_seconds", 0)
    return DashboardApp(data, **kwargs)


@pytest.fixture
def make_app(demo_engine: Engine, demo_settings: Settings) -> MakeApp:
    """``make_app(start="flags")``: a dashboard on the demo app."""

    def make(**kwargs: Any) -> DashboardApp:
        return dashboard_app(demo_engine, demo_settings, **kwargs)

    return make


@pytest.fixture
def empty_engine(tmp_path: Path) -> Iterator[tuple[Engine, Settings]]:
    """A migrated database without apps."""
    settings = make_settings(f"sqlite:///{tmp_path / 'empty.db'}")
    engine = make_engine(settings)
    upgrade(engine)
    yield engine, settings
    engine.dispose()


async def settle(pilot: Pilot[Any]) -> None:
    """Wait until every database worker finished and its result is on screen.

    A result can start another load (a highlighted row loads its details), and a
    DataTable sizes its columns for new rows on its next idle; on a busy machine a
    screenshot could come first. So wait until two checks in a row find nothing
    running and nothing pending.
    """
    quiet = 0
    for _ in range(200):
        await pilot.pause()
        app = pilot.app
        busy = any(w.is_running or w.state.name == "PENDING" for w in app.workers)
        if busy:
            await app.workers.wait_for_complete()
        tables = app.screen.query(DataTable)
        pending = any(t._require_update_dimensions for t in tables)
        quiet = 0 if busy or pending else quiet + 1
        if quiet >= 2:
            return
        await pilot.pause(0.02)


def new_event(name: str, user: str, ts: int = END) -> CanonicalEvent:
    """An event of app 1 (the demo app) at ``ts``, arriving now."""
    return CanonicalEvent(
        app_id=1, event_id=uuid.uuid4(), name=name, timestamp=ts, sent_at=None,
        received_at=END, ts=ts, user_id=user, anonymous_id=None, session_id=None,
        platform="ios", app_version="9.9.9", country="NZ", ip=None, source="native",
        properties={"plan": "pro"}, context={},
    )  # fmt: skip


def text_of(widget: Any) -> str:
    """The plain text a Static shows (its content rendered without styles)."""
    console = Console(width=200, color_system=None, record=True, file=io.StringIO())
    console.print(widget.content)
    return console.export_text()


def rows_of(table: Any) -> list[list[str]]:
    """Every row of a DataTable as plain strings."""
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
