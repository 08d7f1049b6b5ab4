"""CLI fixtures: a CliRunner on ``eventkit.cli.app.app`` with a clean environment, a
migrated database to point it at, and events written straight through EventStore."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from eventkit.capture.schema import CanonicalEvent
from eventkit.cli.app import app
from eventkit.storage.engine import make_engine
from eventkit.storage.migrate import upgrade
from tests.conftest import make_settings

# A real server for `events send` (test_send.py), shared with the e2e suite.
from tests.e2e.conftest import db, module_database_url, server, server_env  # noqa: F401
from tests.factories import make_event

Invoke = Callable[..., Result]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No EVENTKIT_* setting from outside the test, and a cwd without eventkit.toml."""
    for name in list(os.environ):
        if name.startswith("EVENTKIT_") and name not in ("EVENTKIT_LOAD_PLUGINS",):
            monkeypatch.delenv(name)
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


@pytest.fixture
def cli(clean_env: Path) -> Invoke:
    """Run ``eventkit ARGS`` in-process; ``env`` adds environment variables."""
    runner = CliRunner()

    def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
        return runner.invoke(app, list(args), env=env, catch_exceptions=True)

    return invoke


@pytest.fixture
def db_url(database_url: str) -> str:
    """The parametrized database, migrated."""
    engine = make_engine(make_settings(database_url))
    upgrade(engine)
    engine.dispose()
    return database_url


@pytest.fixture
def db_engine(db_url: str) -> Iterator[Engine]:
    """An engine on the migrated database."""
    engine = make_engine(make_settings(db_url))
    yield engine
    engine.dispose()


@pytest.fixture
def run(cli: Invoke, db_url: str) -> Invoke:
    """Like ``cli`` with EVENTKIT_DATABASE_URL pointing at the migrated database."""

    def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
        return cli(*args, env={"EVENTKIT_DATABASE_URL": db_url, **(env or {})})

    return invoke


def canonical(app_id: int, name: str = "screen_view", **kw: Any) -> CanonicalEvent:
    """A canonical event to write with EventStore; ``kw`` overrides fields."""
    kw.setdefault("properties", {"screen": "home"})
    return make_event(app_id, name, **kw)


def assert_one_line_error(result: Result, *fragments: str) -> None:
    """Exit 1 with exactly one ``error: ...`` line on stderr and no traceback."""
    assert result.exit_code == 1, (result.output, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
