"""``eventkit apps`` and ``eventkit keys``: create, list, show, rotate; formats; errors."""

from __future__ import annotations

import csv
import io
import json

from sqlalchemy.engine import Engine

from eventkit.storage.apps import create_app, resolve_key
from eventkit.storage.events import EventStore
from tests.cli.conftest import Invoke, assert_one_line_error, canonical


def test_create_json_prints_working_keys(run: Invoke, db_engine: Engine) -> None:
    result = run("apps", "create", "ios-app", "--description", "The iOS app", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"app", "app_id", "url", "write_key", "secret_key"}
    assert (data["app"], data["url"]) == ("ios-app", "http://localhost:8000")
    write = resolve_key(db_engine, data["write_key"])
    secret = resolve_key(db_engine, data["secret_key"])
    assert write is not None
    assert (write.app_id, write.kind) == (data["app_id"], "write")
    assert secret is not None
    assert (secret.app_id, secret.kind) == (data["app_id"], "secret")


def test_create_table_shows_keys_once(run: Invoke, db_engine: Engine) -> None:
    result = run("apps", "create", "android")
    assert result.exit_code == 0, result.output
    assert "App 'android'" in result.stdout
    [write] = [w for w in result.stdout.split() if w.startswith("ek_write_")]
    [secret] = [w for w in result.stdout.split() if w.startswith("ek_secret_")]
    assert resolve_key(db_engine, write) is not None
    assert resolve_key(db_engine, secret) is not None
    # Listing never shows a key again, only its prefix.
    listing = run("apps", "list", "--format", "json").stdout
    assert write not in listing
    assert secret not in listing
    assert write[:15] in listing


def test_create_csv_has_a_header_and_one_row(run: Invoke) -> None:
    result = run("apps", "create", "web", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["app", "app_id", "url", "write_key", "secret_key"]
    assert len(rows) == 2
    assert rows[1][0] == "web"
    assert rows[1][3].startswith("ek_write_")


def test_duplicate_name_is_a_one_line_error(run: Invoke) -> None:
    assert run("apps", "create", "twice").exit_code == 0
    result = run("apps", "create", "twice")
    assert_one_line_error(result, "an app named 'twice' already exists")
    assert result.stdout == ""


def test_long_error_messages_stay_on_one_line(run: Invoke) -> None:
    name = "a-very-long-app-name-" + "x" * 40
    assert run("apps", "create", name).exit_code == 0
    assert_one_line_error(run("apps", "create", name), name, "already exists")


def test_error_text_is_printed_literally(run: Invoke) -> None:
    # Rich markup in user input must not be interpreted (or swallowed).
    assert_one_line_error(run("apps", "show", "[bold]x[/bold]"), "'[bold]x[/bold]'")


def test_invalid_name_is_a_one_line_error(run: Invoke, db_engine: Engine) -> None:
    assert_one_line_error(run("apps", "create", "My App"), "'My App'", "a-z, 0-9")
    assert run("apps", "list", "--format", "json").stdout.strip() == "[]"


def test_list_json_and_csv(run: Invoke, db_engine: Engine) -> None:
    a = create_app(db_engine, "alpha", "first")
    create_app(db_engine, "beta")
    EventStore(db_engine).write([canonical(a.app_id) for _ in range(3)])
    result = run("apps", "list", "--format", "json")
    assert result.exit_code == 0, result.output
    apps = json.loads(result.stdout)
    assert [x["name"] for x in apps] == ["alpha", "beta"]
    alpha = apps[0]
    assert set(alpha) == {
        "id",
        "name",
        "description",
        "created_at",
        "write_keys",
        "secret_keys",
        "events",
    }
    assert (alpha["id"], alpha["description"], alpha["events"]) == (a.app_id, "first", 3)
    assert apps[1]["events"] == 0
    assert a.write_key
    assert alpha["write_keys"] == [a.write_key[:16] + "…"]
    assert a.secret_key
    assert alpha["secret_keys"] == [a.secret_key[:16] + "…"]

    rows = list(csv.DictReader(io.StringIO(run("apps", "list", "--format", "csv").stdout)))
    assert [r["name"] for r in rows] == ["alpha", "beta"]
    assert list(rows[0]) == list(alpha)
    assert rows[0]["events"] == "3"
    assert json.loads(rows[0]["write_keys"]) == alpha["write_keys"]


def test_list_table_and_empty(run: Invoke, db_engine: Engine) -> None:
    empty = run("apps", "list")
    assert empty.exit_code == 0
    assert "no apps yet" in empty.stdout
    create_app(db_engine, "gamma")
    table = run("apps", "list")
    assert table.exit_code == 0
    assert "gamma" in table.stdout


def test_show(run: Invoke, db_engine: Engine) -> None:
    app = create_app(db_engine, "shown", "described")
    result = run("apps", "show", "shown", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["id"], data["name"], data["description"]) == (app.app_id, "shown", "described")
    assert run("apps", "show", "shown").exit_code == 0
    assert "described" in run("apps", "show", "shown").stdout
    assert_one_line_error(run("apps", "show", "missing"), "no app named 'missing'")


def test_rotate_revokes_the_old_write_key(run: Invoke, db_engine: Engine) -> None:
    app = create_app(db_engine, "rot")
    assert app.write_key
    assert app.secret_key
    result = run("keys", "rotate", "rot", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert "secret_key" not in data
    new = resolve_key(db_engine, data["write_key"])
    assert new is not None
    assert (new.app_id, new.kind) == (app.app_id, "write")
    assert resolve_key(db_engine, app.write_key) is None
    assert resolve_key(db_engine, app.secret_key) is not None


def test_rotate_keep_old_keeps_both(run: Invoke, db_engine: Engine) -> None:
    app = create_app(db_engine, "overlap")
    assert app.write_key
    result = run("keys", "rotate", "overlap", "--keep-old", "--format", "json")
    assert result.exit_code == 0, result.output
    assert resolve_key(db_engine, json.loads(result.stdout)["write_key"]) is not None
    assert resolve_key(db_engine, app.write_key) is not None
    shown = json.loads(run("apps", "show", "overlap", "--format", "json").stdout)
    assert len(shown["write_keys"]) == 2


def test_rotate_secret_key(run: Invoke, db_engine: Engine) -> None:
    app = create_app(db_engine, "sec")
    assert app.write_key
    assert app.secret_key
    result = run("keys", "rotate", "sec", "--kind", "secret", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert "write_key" not in data
    found = resolve_key(db_engine, data["secret_key"])
    assert found is not None
    assert found.kind == "secret"
    assert resolve_key(db_engine, app.secret_key) is None
    assert resolve_key(db_engine, app.write_key) is not None


def test_rotate_bad_kind_or_unknown_app(run: Invoke, db_engine: Engine) -> None:
    create_app(db_engine, "k")
    bad = run("keys", "rotate", "k", "--kind", "admin")
    assert bad.exit_code == 2
    assert "--kind" in bad.stderr
    assert_one_line_error(run("keys", "rotate", "nope"), "no app named 'nope'")
