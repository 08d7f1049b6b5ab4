"""``eventkit db status`` and ``db upgrade``."""

from __future__ import annotations

import json

from eventkit.storage.migrate import alembic_config
from tests.cli.conftest import Invoke


def heads() -> list[str]:
    from alembic.script import ScriptDirectory

    return sorted(ScriptDirectory.from_config(alembic_config()).get_heads())


def revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    return {r.revision for r in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


def status(cli: Invoke, url: str) -> dict[str, object]:
    result = cli("db", "status", "--format", "json", env={"EVENTKIT_DATABASE_URL": url})
    assert result.exit_code == 0, (result.output, result.exception)
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_status_upgrade_status(cli: Invoke, database_url: str) -> None:
    before = status(cli, database_url)
    assert set(before) == {"database", "current", "heads", "pending", "up_to_date"}
    assert before["current"] == []
    assert before["heads"] == heads()
    assert set(before["pending"]) == revisions()  # type: ignore[arg-type]
    assert before["up_to_date"] is False

    env = {"EVENTKIT_DATABASE_URL": database_url}
    up = cli("db", "upgrade", env=env)
    assert up.exit_code == 0, (up.output, up.exception)
    # Rich wraps the line at the terminal width once the list of heads grows.
    assert f"applied {len(revisions())} migration(s)" in " ".join(up.stdout.split())

    after = status(cli, database_url)
    assert after["current"] == heads()
    assert (after["pending"], after["up_to_date"]) == ([], True)

    again = cli("db", "upgrade", env=env)
    assert again.exit_code == 0
    assert "already up to date" in " ".join(again.stdout.split())
    # Commands that need the schema now work.
    assert cli("apps", "list", "--format", "json", env=env).stdout.strip() == "[]"


def test_status_masks_the_password(cli: Invoke, database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        url = database_url
        assert status(cli, url)["database"] == url
        return
    # Same server and database, with a password that trust auth ignores.
    url = database_url.replace("postgres@", "postgres:s3cret@", 1)
    result = cli("db", "status", "--format", "json", env={"EVENTKIT_DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    assert "s3cret" not in result.output
    assert json.loads(result.stdout)["database"] == url.replace("s3cret", "********")


def test_status_table(cli: Invoke, database_url: str) -> None:
    result = cli("db", "status", env={"EVENTKIT_DATABASE_URL": database_url})
    assert result.exit_code == 0, result.output
    assert "up_to_date" in result.stdout
    assert "False" in result.stdout


def test_status_of_an_unreachable_database_is_a_one_line_error(cli: Invoke) -> None:
    url = "postgresql://nobody@127.0.0.1:1/nothing"
    result = cli("db", "status", env={"EVENTKIT_DATABASE_URL": url})
    assert result.exit_code == 1, (result.output, result.exception)
    assert result.stderr.startswith("error: ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output
