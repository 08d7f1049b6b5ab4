"""One rule for ``--app`` in every command: a one-app command uses the only app or
refuses when there are several; a listing covers every app and names it. An erasure or
export of a user the app does not hold is an error, not an empty success."""

from __future__ import annotations

from typing import Any

import pytest
import typer.main
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from eventkit.cli.app import app as cli_app
from eventkit.storage.apps import create_app
from eventkit.storage.events import EventStore
from eventkit.storage.models import USER_TOMBSTONES
from tests.cli.conftest import Invoke, assert_one_line_error, canonical

ONE_APP_HELP = "App name (default: the only app; required when there are several)."
ALL_APPS_HELP = "Only this app (default: every app)."
#: Commands whose --app names an app to create or fill, not one to read, or (members)
#: the apps an account is limited to (repeatable).
CREATING = {"demo", "simulate", "members add", "members set"}


def _commands() -> list[tuple[str, Any]]:
    def walk(prefix: str, cmd: Any) -> list[tuple[str, Any]]:
        subs = getattr(cmd, "commands", None)
        if not subs:
            return [(prefix, cmd)]
        return [x for name, sub in subs.items() for x in walk(f"{prefix} {name}".strip(), sub)]

    return walk("", typer.main.get_command(cli_app))


def test_every_app_option_follows_one_of_the_two_rules() -> None:
    seen = 0
    for name, cmd in _commands():
        for param in cmd.params:
            if "--app" in getattr(param, "opts", ()) and name not in CREATING:
                seen += 1
                assert param.help in (ONE_APP_HELP, ALL_APPS_HELP), f"eventkit {name}: {param.help}"
    assert seen >= 20


@pytest.fixture
def two_apps(db_engine: Engine) -> dict[str, Any]:
    shop = create_app(db_engine, "shop")
    blog = create_app(db_engine, "blog")
    EventStore(db_engine).write(
        [
            canonical(shop.app_id, name="buy", user_id="ada"),
            canonical(blog.app_id, name="read", user_id="bob"),
        ]
    )
    return {"shop": shop, "blog": blog}


@pytest.mark.parametrize(
    "args",
    [
        ["report", "active"],
        ["report", "top", "events"],
        ["users", "show", "ada"],
        ["users", "delete", "ada", "--yes"],
        ["users", "export", "ada"],
        ["flags", "list"],
        ["experiments", "list"],
        ["sessions", "stats"],
        ["schema", "pull"],
        ["dashboard"],
    ],
)
def test_a_one_app_command_refuses_to_guess_among_several(
    run: Invoke, two_apps: dict[str, Any], args: list[str]
) -> None:
    result = run(*args)
    assert_one_line_error(result, "this database has 2 apps (shop, blog): pass --app NAME")


def test_with_one_app_the_app_is_implied(run: Invoke, db_engine: Engine) -> None:
    only = create_app(db_engine, "solo")
    EventStore(db_engine).write([canonical(only.app_id, name="buy", user_id="ada")])
    result = run("users", "show", "ada", "--format", "json")
    assert result.exit_code == 0, result.output
    assert '"buy"' in result.stdout


def test_a_listing_covers_every_app_and_names_it(run: Invoke, two_apps: dict[str, Any]) -> None:
    import json

    result = run("events", "list", "--format", "json")
    assert result.exit_code == 0, result.output
    assert sorted((r["app"], r["name"]) for r in json.loads(result.stdout)) == [
        ("blog", "read"),
        ("shop", "buy"),
    ]


def _tombstones(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(USER_TOMBSTONES)).scalar_one())


def test_erasing_or_exporting_an_unknown_user_is_an_error(
    run: Invoke, two_apps: dict[str, Any], db_engine: Engine
) -> None:
    # ada is a user of shop, not of blog: the wrong app must not look like success.
    result = run("users", "delete", "ada", "--app", "blog", "--yes")
    assert_one_line_error(result, "app 'blog' holds nothing about user 'ada'")
    assert "nothing was erased" in result.output
    assert _tombstones(db_engine) == 0
    result = run("users", "export", "gdpr-1", "--app", "shop")
    assert_one_line_error(result, "app 'shop' holds nothing about user 'gdpr-1'")


def test_erasing_twice_says_the_user_is_already_gone(
    run: Invoke, two_apps: dict[str, Any], db_engine: Engine
) -> None:
    env = {"EVENTKIT_PRIVACY__PROPAGATION_SECONDS": "0"}
    first = run("users", "delete", "ada", "--app", "shop", "--yes", env=env)
    assert first.exit_code == 0, first.output
    assert _tombstones(db_engine) >= 1  # the user and their device
    again = run("users", "delete", "ada", "--app", "shop", "--yes", env=env)
    assert again.exit_code == 0, again.output
    assert "already erased" in again.stdout
    export = run("users", "export", "ada", "--app", "shop")
    assert_one_line_error(export, "was erased: nothing is held to export")
