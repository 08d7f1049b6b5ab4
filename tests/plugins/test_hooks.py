"""Routes, CLI commands, scheduled jobs, reports, startup and shutdown from a fixture
plugin, and a plugin raising in each of them that is skipped."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import typer
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from eventkit.config import Settings
from eventkit.plugins.manager import call_hook, get_plugin_manager
from eventkit.plugins.stats import stats
from eventkit.scheduler import collect_jobs
from eventkit.storage.apps import create_app as create_tracked_app
from tests.inprocess import api_client, bearer
from tests.plugins.conftest import Use
from tests.plugins.fixtures import extras, faulty
from tests.plugins.helpers import batch


@pytest.fixture(autouse=True)
def _calls() -> Iterator[None]:
    extras.calls.clear()
    yield
    extras.calls.clear()


async def test_routes_reports_startup_and_shutdown(
    settings: Settings, engine: Engine, use_plugins: Use
) -> None:
    use_plugins(extras, faulty)
    keys = create_tracked_app(engine, "hooks")
    async with api_client(settings) as client:
        assert extras.calls == ["startup"]  # the faulty startup did not stop the server
        r = await client.get("/v1/fixture/hello")
        assert r.json() == {"hello": "from a plugin"}
        await client.post("/v1/events", json=batch("a", "b", "a"), headers=bearer(keys.write_key))
        r = await client.get(
            "/v1/reports/event_names", headers=bearer(keys.secret_key), params={"since": "1d"}
        )
        assert r.status_code == 200, r.text
        assert r.json()["rows"] == [{"name": "a", "count": 2}, {"name": "b", "count": 1}]
        assert r.json()["meta"] == {"total": 3}
        r = await client.get("/v1/reports/nope", headers=bearer(keys.secret_key))
        assert r.status_code == 400 and "event_names" in r.json()["message"]
    assert extras.calls == ["startup", "shutdown"]
    errors, _, _ = stats.snapshot()
    for hook in ("routes", "startup", "shutdown", "reports"):
        assert errors[("faulty", f"eventkit_{hook}")] >= 1


def test_scheduled_jobs_and_cli_commands(settings: Settings, use_plugins: Use) -> None:
    use_plugins(extras, faulty)
    jobs = {j.id: j for j in collect_jobs(settings)}
    assert "fixture.job" in jobs and "sessions" in jobs  # built-ins still there
    jobs["fixture.job"].func()
    assert extras.calls == ["job"]

    app = typer.Typer()

    @app.command("builtin")
    def builtin() -> None:
        """A built-in command."""

    call_hook(get_plugin_manager(), "eventkit_cli_commands", app=app)
    result = CliRunner().invoke(app, ["fixture-hello", "--name", "plugins"])
    assert result.exit_code == 0, result.output
    assert result.output == "hello plugins\n"
    assert stats.snapshot()[0][("faulty", "eventkit_cli_commands")] == 1


def test_report_run_cli(tmp_path: object, use_plugins: Use) -> None:
    import json
    from pathlib import Path

    from eventkit.cli.app import app
    from eventkit.storage.engine import make_engine
    from eventkit.storage.events import EventStore
    from eventkit.storage.migrate import upgrade
    from tests.conftest import make_settings
    from tests.factories import make_event

    use_plugins(extras)
    url = f"sqlite:///{Path(str(tmp_path)) / 'r.db'}"
    engine = make_engine(make_settings(url))
    upgrade(engine)
    keys = create_tracked_app(engine, "solo")
    EventStore(engine).write([make_event(keys.app_id, "x"), make_event(keys.app_id, "y")])
    engine.dispose()
    result = CliRunner().invoke(
        app, ["report", "run", "event_names", "-f", "json"], env={"EVENTKIT_DATABASE_URL": url}
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["rows"] == [
        {"name": "x", "count": 1},
        {"name": "y", "count": 1},
    ]
