"""``eventkit sessions``: list, show, stats, run, rebuild; formats and errors."""

from __future__ import annotations

import csv
import io
import json

from sqlalchemy.engine import Engine

from eventkit.storage.apps import create_app
from tests.cli.conftest import Invoke, assert_one_line_error
from tests.sessions.helpers import ev, store

WIDE = {"COLUMNS": "250"}


def _seed(engine: Engine) -> int:
    app = create_app(engine, "shop").app_id
    store(
        engine,
        [
            ev(app, 0, name="$screen", screen="home", user="u1"),
            ev(app, 2, name="$screen", screen="cart", user="u1"),
            ev(app, 100, device="d2", platform="android", version="2.0"),
        ],
    )
    return app


def test_run_then_list_show_stats(run: Invoke, db_engine: Engine) -> None:
    _seed(db_engine)
    r = run("sessions", "run", "--format", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["events"] == 3
    r = run("sessions", "list", "--format", "json")
    rows = json.loads(r.stdout)
    assert len(rows) == 2 and {s["app"] for s in rows} == {"shop"}
    r = run("sessions", "list", "--user", "u1", "--closed", "--format", "csv")
    (only,) = list(csv.DictReader(io.StringIO(r.stdout)))
    assert (only["entry_screen"], only["exit_screen"], only["duration_s"]) == (
        "home",
        "cart",
        "120.0",
    )
    r = run("sessions", "list", "--open", "--format", "json")
    assert json.loads(r.stdout) == []
    r = run("sessions", "list", "--platform", "android", "--app", "shop", "--format", "json")
    assert [(s["platform"], s["app_version"]) for s in json.loads(r.stdout)] == [("android", "2.0")]
    r = run("sessions", "list")
    assert r.exit_code == 0 and "sessions" in r.stdout
    r = run("sessions", "show", only["id"], "--format", "json")
    assert [e["name"] for e in json.loads(r.stdout)["events"]] == ["$screen", "$screen"]
    r = run("sessions", "show", only["id"])
    assert r.exit_code == 0 and "timeline" in r.stdout
    r = run("sessions", "stats", "--by", "platform", "--format", "json")
    stats = {row["group"]: row for row in json.loads(r.stdout)}
    assert stats["all"]["sessions"] == 2 and stats["all"]["bounce_rate"] == 0.5
    assert stats["ios"]["median_duration_s"] == 120
    r = run("sessions", "stats", "--format", "csv")
    assert r.stdout.splitlines()[0].startswith("group,sessions,median_duration_s")


def test_rebuild(run: Invoke, db_engine: Engine) -> None:
    _seed(db_engine)
    run("sessions", "run")
    r = run("sessions", "rebuild", "--yes")
    assert r.exit_code == 0 and "3 events, 2 sessions" in r.stdout


def test_errors_are_one_line(run: Invoke, db_engine: Engine) -> None:
    _seed(db_engine)
    assert_one_line_error(run("sessions", "show", "nope"), "no session 'nope'")
    assert_one_line_error(run("sessions", "list", "--app", "missing"), "missing")
    r = run("sessions", "list", "--since", "soon")
    assert r.exit_code == 2 and "--since" in r.output
    r = run("sessions", "list", env=WIDE)
    assert "no sessions" in r.stdout
