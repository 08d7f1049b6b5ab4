"""``eventkit sql``, ``eventkit mirror`` and ``eventkit cohorts`` through the CLI runner."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from sqlalchemy.engine import Engine

from eventkit.storage.apps import create_app
from eventkit.storage.events import EventStore
from tests.cli.conftest import Invoke, assert_one_line_error, canonical


def _fill(engine: Engine) -> None:
    create_app(engine, "shop")
    create_app(engine, "other")
    EventStore(engine).write(
        [canonical(1, "purchase_completed", user_id=f"u{i}", properties={"amount": i + 0.5})
         for i in range(4)] + [canonical(2, "secret_event", properties={"x": 1})]
    )  # fmt: skip


def test_sql_formats_and_scope(run: Invoke, db_engine: Engine) -> None:
    _fill(db_engine)
    sql = "SELECT user_id, properties ->> 'amount' AS amount FROM events ORDER BY user_id"
    table = run("sql", sql, "--app", "shop")
    assert table.exit_code == 0, table.output
    assert "u3" in table.output and "4 rows" in table.output
    body = json.loads(run("sql", sql, "--app", "shop", "-f", "json").stdout)
    assert body["columns"] == ["user_id", "amount"]
    assert [r[0] for r in body["rows"]] == ["u0", "u1", "u2", "u3"]
    assert body["row_count"] == 4 and body["truncated"] is False
    rows = list(csv.reader(io.StringIO(run("sql", sql, "--app", "shop", "-f", "csv").stdout)))
    assert rows[0] == ["user_id", "amount"] and len(rows) == 5
    other = json.loads(run("sql", "SELECT name FROM events", "--app", "other", "-f", "json").stdout)
    assert other["rows"] == [["secret_event"]]
    cut = json.loads(run("sql", "SELECT id FROM events", "--app", "shop", "--limit", "2",
                         "-f", "json").stdout)  # fmt: skip
    assert cut["row_count"] == 2 and cut["truncated"] is True


def test_sql_errors_are_one_line(run: Invoke, db_engine: Engine) -> None:
    _fill(db_engine)
    assert_one_line_error(run("sql", "DELETE FROM events", "--app", "shop"), "refused")
    assert_one_line_error(run("sql", "SELECT * FROM api_keys", "--app", "shop"), "relations")
    assert_one_line_error(run("sql", "SELEC 1", "--app", "shop"), "syntax error")
    assert_one_line_error(run("sql", "SELECT 1", "--app", "nope"), "no app named 'nope'")


def test_a_timeout_after_rows_were_written_ends_the_json(run: Invoke, db_engine: Engine) -> None:
    _fill(db_engine)
    endless = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c"
    result = run("sql", endless, "--app", "shop", "-f", "json",
                 env={"EVENTKIT_SQL__TIMEOUT_SECONDS": "0.5",
                      "EVENTKIT_SQL__MAX_ROWS": "10000000"})  # fmt: skip
    assert result.exit_code == 1
    if db_engine.dialect.name == "postgresql":
        # PostgreSQL's function collects the rows before the first one is returned:
        # the timeout comes before any output, as a plain one-line error.
        assert_one_line_error(result, "sql.timeout_seconds")
        return
    body = json.loads(result.stdout)
    assert body["rows"][:3] == [[1], [2], [3]] and body["truncated"] is True
    assert body["error"]["code"] == "query_limit"


def test_relations_list(cli: Invoke) -> None:
    body = json.loads(cli("sql", "--relations", "-f", "json").stdout)
    names = {r["relation"] for r in body}
    assert {"events", "sessions", "users", "exposures", "flags", "cohort_members"} <= names
    assert "api_keys" not in names


def test_duckdb_engine_through_the_mirror(run: Invoke, db_engine: Engine, tmp_path: Path) -> None:
    _fill(db_engine)
    env = {"EVENTKIT_SQL__MIRROR_DIRECTORY": str(tmp_path / "m"),
           "EVENTKIT_AGGREGATION__SETTLE_SECONDS": "0"}  # fmt: skip
    sql = ("SELECT COUNT(*) AS n, SUM(CAST(properties ->> 'amount' AS DOUBLE PRECISION)) AS s "
           "FROM events")  # fmt: skip
    assert_one_line_error(run("sql", sql, "--app", "shop", "--engine", "duckdb", env=env),
                          "eventkit mirror refresh")  # fmt: skip
    status = run("mirror", "status", env=env)
    assert "no mirror yet" in status.output
    made = run("mirror", "refresh", "-f", "json", env=env)
    assert made.exit_code == 0 and json.loads(made.stdout)["events_added"] == 5
    a = json.loads(run("sql", sql, "--app", "shop", "-f", "json", env=env).stdout)["rows"]
    b = json.loads(run("sql", sql, "--app", "shop", "-f", "json", "--engine", "duckdb",
                       env=env).stdout)["rows"]  # fmt: skip
    assert a == b == [[4, 8.0]]
    assert json.loads(run("mirror", "status", "-f", "json", env=env).stdout)["events"] == 5


def test_cohorts_commands(run: Invoke, db_engine: Engine, tmp_path: Path) -> None:
    _fill(db_engine)
    made = run("cohorts", "create", "buyers", "--app", "shop", "--did", "purchase_completed",
               "-f", "json")  # fmt: skip
    assert made.exit_code == 0, made.output
    assert json.loads(made.stdout)["members"] == 4
    listed = json.loads(run("cohorts", "list", "--app", "shop", "-f", "json").stdout)
    assert listed[0]["name"] == "buyers" and listed[0]["definition"]["conditions"]
    exported = run("cohorts", "export", "buyers", "--app", "shop")
    assert exported.stdout.splitlines()[0] == "actor,joined_at"
    assert [r.split(",")[0] for r in exported.stdout.splitlines()[1:]] == ["u0", "u1", "u2", "u3"]
    trends = json.loads(run("report", "trends", "--app", "shop", "--cohort", "buyers",
                            "-f", "json").stdout)  # fmt: skip
    assert trends["meta"]["total"] == 4 and trends["meta"]["cohort"] == "buyers"
    refreshed = json.loads(run("cohorts", "refresh", "buyers", "--app", "shop", "-f",
                               "json").stdout)  # fmt: skip
    assert refreshed["mode"] == "incremental" and refreshed["added"] == 0
    spec = tmp_path / "def.json"
    spec.write_text(json.dumps({"conditions": [{"type": "event", "event": "purchase_completed",
                                                "min_count": 2}]}))  # fmt: skip
    none = json.loads(run("cohorts", "create", "repeat", "--app", "shop", "--definition",
                          str(spec), "-f", "json").stdout)  # fmt: skip
    assert none["members"] == 0
    assert_one_line_error(run("cohorts", "create", "x", "--app", "shop"), "define the cohort")
    assert_one_line_error(run("cohorts", "show", "nope", "--app", "shop"), "no cohort named")
    assert run("cohorts", "delete", "buyers", "--app", "shop").exit_code == 0
    assert_one_line_error(run("report", "trends", "--app", "shop", "--cohort", "buyers"),
                          "no cohort named 'buyers'")  # fmt: skip
