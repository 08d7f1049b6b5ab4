"""``eventkit events send`` against a real ``eventkit serve`` process."""

from __future__ import annotations

import json

import pytest
from sqlalchemy.engine import Engine

from tests.cli.conftest import Invoke, assert_one_line_error
from tests.e2e.conftest import ServerProcess, free_port, stored

pytestmark = pytest.mark.e2e


@pytest.fixture
def send(cli: Invoke, server: ServerProcess) -> Invoke:
    def invoke(*args: str, env: dict[str, str] | None = None) -> object:
        return cli(
            "events", "send", "--url", server.url, *args,
            env={"EVENTKIT_DATABASE_URL": server.database_url, **(env or {})},
        )  # fmt: skip

    return invoke  # type: ignore[return-value]


def test_send_stores_the_events(send: Invoke, server: ServerProcess, db: Engine) -> None:
    assert server.write_key
    result = send(
        "--key", server.write_key, "--name", "cli_check", "--user", "cli-user",
        "-p", "plan=pro", "-p", "n=3", "-p", 'tags=["a","b"]', "--count", "2",
        "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, (result.output, result.exception)
    verdict = json.loads(result.stdout)
    assert (verdict["status"], verdict["accepted"], verdict["rejected"]) == (200, 2, [])
    rows = stored(db, user_id="cli-user", name="cli_check")
    assert len(rows) == 2
    assert rows[0].properties == {"plan": "pro", "n": 3, "tags": ["a", "b"]}
    assert rows[0].context == {"library": {"name": "eventkit-cli"}}
    assert rows[0].sent_at is not None


def test_send_takes_the_key_from_the_environment(
    send: Invoke, server: ServerProcess, db: Engine
) -> None:
    assert server.write_key
    result = send(
        "--name", "from_env", "--anonymous-id", "env-device", "--format", "json",
        env={"EVENTKIT_WRITE_KEY": server.write_key},
    )  # fmt: skip
    assert result.exit_code == 0, (result.output, result.exception)
    assert json.loads(result.stdout)["accepted"] == 1
    [row] = stored(db, anonymous_id="env-device")
    assert (row.name, row.user_id) == ("from_env", None)


def test_send_without_a_key_is_a_one_line_error(send: Invoke) -> None:
    assert_one_line_error(send(), "--key", "EVENTKIT_WRITE_KEY")


def test_send_with_a_wrong_key_reports_the_401(send: Invoke) -> None:
    result = send("--key", "ek_write_wrongwrongwrongwrongwrongwrong")
    assert_one_line_error(result, "401", "unknown or revoked API key")


def test_send_to_a_server_that_is_not_running(cli: Invoke) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = cli("events", "send", "--url", url, "--key", "ek_write_x")
    assert_one_line_error(result, f"cannot reach {url}", "eventkit serve")


def test_send_bad_property_is_a_usage_error(send: Invoke, server: ServerProcess) -> None:
    assert server.write_key
    result = send("--key", server.write_key, "-p", "novalue")
    assert result.exit_code == 2
    assert "KEY=VALUE" in result.stderr
