"""``eventkit events list`` and ``events tail``: filters, formats, following new events."""

from __future__ import annotations

import csv
import io
import json
import threading
import time
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from eventkit.reports.events import RECORD_FIELDS
from eventkit.storage.apps import create_app
from eventkit.storage.events import EventStore
from eventkit.timeutil import US_PER_HOUR, now_us
from tests.cli.conftest import Invoke, assert_one_line_error, canonical

#: The JSON and CSV shape: the app's name, the shared event record, the client address.
COLUMNS = ["app", *RECORD_FIELDS, "ip"]


@pytest.fixture
def seeded(db_engine: Engine) -> dict[str, Any]:
    """Two apps; events at known times: names a/b, users u1/u2, 1..5 hours ago."""
    mobile = create_app(db_engine, "mobile")
    other = create_app(db_engine, "other")
    now = now_us()
    events = [
        canonical(
            mobile.app_id,
            name="a" if i % 2 else "b",
            user_id=f"u{1 + i % 2}",
            ts=now - (i + 1) * US_PER_HOUR + 60_000_000,
            properties={"i": i},
        )
        for i in range(5)
    ]
    events.append(
        canonical(other.app_id, name="a", user_id="u1", ts=now - 60_000_000, country="DE")
    )
    EventStore(db_engine).write(events)
    return {"mobile": mobile, "other": other, "events": events}


def listed(run: Invoke, *args: str) -> list[dict[str, Any]]:
    result = run("events", "list", "--format", "json", *args)
    assert result.exit_code == 0, (result.output, result.exception)
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


def test_list_json_newest_first_with_every_field(run: Invoke, seeded: dict[str, Any]) -> None:
    rows = listed(run)
    assert len(rows) == 6
    assert list(rows[0]) == COLUMNS
    expected = sorted(seeded["events"], key=lambda e: e.ts, reverse=True)
    assert [r["event_id"] for r in rows] == [str(e.event_id) for e in expected]
    first = rows[0]
    assert (first["app"], first["name"], first["user_id"]) == ("other", "a", "u1")
    assert (first["platform"], first["app_version"], first["source"]) == ("ios", "1.0", "native")
    assert first["context"] == {"os": {"name": "iOS"}}
    assert first["country"] == "DE"
    assert rows[1]["properties"] == {"i": 0}


def test_list_filters(run: Invoke, seeded: dict[str, Any]) -> None:
    assert {r["name"] for r in listed(run, "--name", "a")} == {"a"}
    assert len(listed(run, "--name", "a")) == 3
    assert {r["user_id"] for r in listed(run, "--user", "u2")} == {"u2"}
    assert len(listed(run, "--user", "u2")) == 2
    assert len(listed(run, "--user", "u1")) == 4
    assert {r["app"] for r in listed(run, "--app", "mobile")} == {"mobile"}
    # ts are 0, 1, 2, 3, 4 hours (and a minute) ago for mobile, 1 minute ago for other.
    assert [r["properties"] for r in listed(run, "--app", "mobile", "--since", "2h")] == [
        {"i": 0},
        {"i": 1},
    ]
    assert len(listed(run, "--since", "2h", "--name", "a", "--user", "u1")) == 1
    assert len(listed(run, "--limit", "2")) == 2
    assert listed(run, "--limit", "2") == listed(run)[:2]
    assert listed(run, "--name", "nothing") == []


def test_list_until_takes_iso_times(run: Invoke, seeded: dict[str, Any]) -> None:
    cutoff = seeded["events"][2].ts  # 3 h ago (mobile, i=2)
    from eventkit.timeutil import from_us

    rows = listed(run, "--until", from_us(cutoff).isoformat())
    assert [r["properties"]["i"] for r in rows] == [3, 4]


def test_list_csv_header_and_rows(run: Invoke, seeded: dict[str, Any]) -> None:
    result = run("events", "list", "--format", "csv", "--app", "mobile")
    assert result.exit_code == 0, result.output
    reader = csv.DictReader(io.StringIO(result.stdout))
    assert reader.fieldnames == COLUMNS
    rows = list(reader)
    assert len(rows) == 5
    assert json.loads(rows[0]["properties"]) == {"i": 0}
    assert rows[0]["session_id"] == ""


def test_list_table(run: Invoke, seeded: dict[str, Any]) -> None:
    result = run("events", "list", "--app", "other")
    assert result.exit_code == 0, result.output
    assert "other" in result.stdout
    empty = run("events", "list", "--name", "nothing")
    assert empty.exit_code == 0
    assert "no events yet" in empty.stdout


def test_list_table_of_several_apps_names_the_app(run: Invoke, seeded: dict[str, Any]) -> None:
    result = run("events", "list", env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    header = next(line for line in result.stdout.splitlines() if "┃" in line)
    assert [c.strip() for c in header.split("┃")[1:-1]][:5] == [
        "time",
        "name",
        "user/device",
        "properties",
        "app",
    ]
    assert "mobile" in result.stdout
    assert "other" in result.stdout
    one = run("events", "list", "--app", "mobile", env={"COLUMNS": "80"}).stdout
    assert "events of mobile" in one
    assert "app" in one.split("not shown at 80 columns:")[1]


def test_list_bad_since_is_a_usage_error(run: Invoke, seeded: dict[str, Any]) -> None:
    result = run("events", "list", "--since", "last tuesday")
    assert result.exit_code == 2
    assert "cannot read the time" in result.stderr
    assert "--since" in result.stderr


def test_list_unknown_app_is_a_one_line_error(run: Invoke, seeded: dict[str, Any]) -> None:
    assert_one_line_error(run("events", "list", "--app", "ghost"), "no app named 'ghost'")


def test_list_on_an_unmigrated_database_says_to_upgrade(cli: Invoke, sqlite_url: str) -> None:
    result = cli("events", "list", env={"EVENTKIT_DATABASE_URL": sqlite_url})
    assert_one_line_error(result, "not up to date", "eventkit db upgrade")


def test_tail_shows_only_new_events(run: Invoke, db_engine: Engine) -> None:
    app = create_app(db_engine, "tailed")
    store = EventStore(db_engine)
    old = canonical(app.app_id, name="before")
    store.write([old])
    new = [canonical(app.app_id, name="after", properties={"n": n}) for n in range(3)]
    ignored = canonical(app.app_id, name="other")

    def produce() -> None:
        time.sleep(1.5)  # after the tail has taken its starting point, even on a busy CI
        store.write([new[0], ignored])
        time.sleep(0.3)
        store.write(new[1:])

    producer = threading.Thread(target=produce)
    producer.start()
    started = time.monotonic()
    result = run(
        "events",
        "tail",
        "--name",
        "after",
        "--max",
        "3",
        "--for",
        "20",
        "--interval",
        "0.05",
        "--format",
        "json",
    )
    took = time.monotonic() - started
    producer.join()
    assert result.exit_code == 0, (result.output, result.exception)
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["event_id"] for r in rows] == [str(e.event_id) for e in new]
    assert [r["properties"] for r in rows] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert took < 10  # stopped at --max, not at --for


def test_tail_stops_after_for_seconds(run: Invoke, db_engine: Engine) -> None:
    app = create_app(db_engine, "quiet")
    EventStore(db_engine).write([canonical(app.app_id)])
    started = time.monotonic()
    result = run("events", "tail", "--for", "0.5", "--interval", "0.1", "--format", "json")
    took = time.monotonic() - started
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert 0.4 < took < 5


def test_tail_table_prints_a_line_per_event(run: Invoke, db_engine: Engine) -> None:
    app = create_app(db_engine, "lines")
    store = EventStore(db_engine)
    done = threading.Event()

    def send() -> None:
        # An event every 0.3 s until tail has printed one: however long the command
        # takes to start, events arrive after it began to wait.
        while not done.wait(0.3):
            store.write([canonical(app.app_id, name="tap", user_id="ada")])

    sender = threading.Thread(target=send)
    sender.start()
    try:
        result = run("events", "tail", "--max", "1", "--for", "20", "--interval", "0.05")
    finally:
        done.set()
        sender.join()
    assert result.exit_code == 0, result.output
    assert "waiting for events" in result.stdout
    [line] = [x for x in result.stdout.splitlines() if "tap" in x]
    assert "lines" in line
    assert "ada" in line
