"""The built-in sessions registration: its job, routes and CLI group reach eventkit
through the hooks."""

from __future__ import annotations

import typer.main
from sqlalchemy.engine import Engine

from eventkit.builtins.sessions import eventkit_routes, eventkit_shutdown
from eventkit.cli.app import app as cli_app
from eventkit.config import Settings
from eventkit.plugins.manager import DEFAULT_PLUGINS
from eventkit.scheduler import collect_jobs
from eventkit.sessions.worker import JobRunner
from eventkit.storage.apps import create_app
from tests.conftest import make_settings
from tests.sessions.helpers import ev, sessions, store


def test_registered_as_a_default_plugin() -> None:
    assert "eventkit.builtins.sessions" in DEFAULT_PLUGINS
    group = typer.main.get_command(cli_app)
    assert {"list", "show", "stats", "run", "rebuild"} <= set(group.commands["sessions"].commands)  # type: ignore[attr-defined]
    assert len(eventkit_routes(settings=make_settings("sqlite://"))) == 3


def test_job_spec_follows_settings(sqlite_url: str) -> None:
    jobs = collect_jobs(make_settings(sqlite_url, SESSIONS__JOB_INTERVAL_SECONDS="7"))
    assert [(j.id, j.seconds) for j in jobs if j.id == "sessions"] == [("sessions", 7.0)]
    off = collect_jobs(make_settings(sqlite_url, SESSIONS__ENABLED="false"))
    assert [j.id for j in off if j.id == "sessions"] == []
    eventkit_shutdown(settings=make_settings(sqlite_url))


def test_runner_in_process_and_in_a_child(engine: Engine, settings: Settings) -> None:
    app = create_app(engine, "a").app_id
    store(engine, [ev(app, 0)])
    inline = JobRunner(
        settings.model_copy(
            update={"sessions": settings.sessions.model_copy(update={"subprocess": False})}
        )
    )
    assert inline().events == 1
    inline.close()
    store(engine, [ev(app, 1)])
    child = JobRunner(settings)
    try:
        assert child().events == 1
        assert child().events == 0  # the child process is reused
    finally:
        child.close()
    (only,) = sessions(engine)
    assert only["event_count"] == 2
