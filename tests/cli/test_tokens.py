"""``eventkit tokens create|list|revoke`` through the CLI runner."""

from __future__ import annotations

import json

from sqlalchemy.engine import Engine

from eventkit.storage.apps import create_app
from eventkit.tokens import resolve_token
from tests.cli.conftest import Invoke, assert_one_line_error


def test_create_list_revoke(run: Invoke, db_engine: Engine) -> None:
    create_app(db_engine, "shop")
    made = run("tokens", "create", "ci", "--app", "shop", "--scope", "reports:read,query:read",
               "--expires", "90d", "--format", "json")  # fmt: skip
    assert made.exit_code == 0, made.output
    body = json.loads(made.stdout)
    assert body["scopes"] == "query:read,reports:read" and body["status"] == "active"
    resolved = resolve_token(db_engine, body["token"])
    assert resolved is not None and resolved.name == "ci"

    listed = run("tokens", "list", "--app", "shop", "--format", "json")
    rows = json.loads(listed.stdout)
    assert [r["name"] for r in rows] == ["ci"]
    assert "token" not in rows[0] and body["token"] not in listed.stdout
    assert rows[0]["last_used_at"] == "never"

    revoked = run("tokens", "revoke", "ci", "--app", "shop")
    assert revoked.exit_code == 0 and "revoked token ci" in revoked.output
    assert resolve_token(db_engine, body["token"]) is None
    assert json.loads(run("tokens", "list", "--app", "shop", "--format", "json").stdout) == []
    every = json.loads(run("tokens", "list", "--app", "shop", "--all", "-f", "json").stdout)
    assert [r["status"] for r in every] == ["revoked"]


def test_table_output_shows_the_token_once(run: Invoke, db_engine: Engine) -> None:
    create_app(db_engine, "shop")
    made = run("tokens", "create", "ci", "--app", "shop", "--scope", "admin")
    assert made.exit_code == 0 and "shown once" in made.output and "ek_token_" in made.output


def test_errors_are_one_line(run: Invoke, db_engine: Engine) -> None:
    create_app(db_engine, "shop")
    assert_one_line_error(
        run("tokens", "create", "ci", "--app", "shop", "--scope", "flags:delete"),
        "unknown scope 'flags:delete'",
    )
    assert_one_line_error(
        run("tokens", "create", "ci", "--app", "nope", "--scope", "admin"), "no app named 'nope'"
    )
    assert_one_line_error(run("tokens", "revoke", "ci", "--app", "shop"), "no active token")
