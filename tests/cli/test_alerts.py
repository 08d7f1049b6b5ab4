"""`eventkit alerts`, `digest`, `annotate`, `annotations` and `report releases` through
the CLI (in-process): what they print, what they store, and their errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eventkit.releases import run_releases
from eventkit.storage.apps import create_app
from eventkit.storage.engine import make_engine
from eventkit.storage.events import EventStore
from eventkit.storage.migrate import upgrade
from tests.cli.conftest import Invoke
from tests.conftest import make_settings
from tests.plugins.receiver import receiver
from tests.releases.dataset import END, START, dataset


@pytest.fixture
def url(sqlite_url: str) -> str:
    """A database with app ``demo`` and the release-health data set (SQLite: the logic
    under the commands is tested on both engines elsewhere)."""
    settings = make_settings(sqlite_url)
    engine = make_engine(settings)
    upgrade(engine)
    create_app(engine, "demo")
    EventStore(engine).write(dataset())
    run_releases(engine, settings.releases)
    engine.dispose()
    return sqlite_url


def env(url: str) -> dict[str, str]:
    return {"EVENTKIT_DATABASE_URL": url}


def test_create_list_show_pause_delete(cli: Invoke, url: str) -> None:
    e = env(url)
    r = cli("alerts", "create", "crashes", "--app", "demo", "--metric", "crash_free_users",
            "--platform", "ios", "--below", "99.5", "--email", "team@example.com",
            "--webhook", "https://hooks.example.com/x", "--secret", "s3cr3t", env=e)  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "crash-free users of the latest version (ios) per day" in r.output
    assert "email team@example.com" in r.output and "(signed)" in r.output
    listed = json.loads(cli("alerts", "list", "--format", "json", env=e).output)
    assert [x["name"] for x in listed] == ["crashes"]
    assert listed[0]["definition"]["destinations"][1]["secret"] == "********"
    shown = cli("alerts", "show", "crashes", env=e)
    assert (
        shown.exit_code == 0
        and "not evaluated yet" in shown.output
        and "s3cr3t" not in shown.output
    )
    assert "paused" in cli("alerts", "pause", "crashes", env=e).output
    assert (
        json.loads(cli("alerts", "show", "crashes", "-f", "json", env=e).output)["status"]
        == "paused"
    )
    assert cli("alerts", "resume", "crashes", env=e).exit_code == 0
    assert cli("alerts", "delete", "crashes", "--yes", env=e).exit_code == 0
    assert "none yet: eventkit alerts create" in cli("alerts", "list", env=e).output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--metric", "events", "--below", "3"], "--email, --slack or --webhook"),
        (["--metric", "events", "--email", "a@b.co"], "exactly one condition"),
        (["--metric", "events", "--above", "1", "--below", "3", "--email", "a@b.co"],
         "exactly one condition"),
        (["--metric", "nope", "--above", "1", "--email", "a@b.co"], "metric.kind"),
        (["--metric", "events", "--above", "1", "--email", "not-an-address"],
         "is not an email address"),
        (["--metric", "funnel_conversion", "--step", "a", "--below", "3", "--email", "a@b.co"],
         "at least two --step"),
        (["--metric", "events", "--drop", "3", "--cooldown", "soon", "--email", "a@b.co"],
         "cooldown"),
        (["--metric", "events", "--above", "1", "--slack", "hooks.slack.com/x"], "http(s) URL"),
        (["--metric", "crashes", "--anomaly", "--interval", "hour", "--email", "a@b.co"],
         "hourly anomaly check on crashes is not offered"),
    ],
)  # fmt: skip
def test_bad_rules_say_what_to_fix(cli: Invoke, url: str, args: list[str], message: str) -> None:
    r = cli("alerts", "create", "x", "--app", "demo", *args, env=env(url))
    assert r.exit_code == 1 and message in r.output, r.output


def test_unknown_names_and_duplicates(cli: Invoke, url: str) -> None:
    e = env(url)
    r = cli("alerts", "show", "ghost", env=e)
    assert r.exit_code == 1 and "no alert named 'ghost'" in r.output
    args = ["alerts", "create", "dup", "--metric", "events", "--above", "1", "--email", "a@b.co"]
    assert cli(*args, env=e).exit_code == 0
    r = cli(*args, env=e)
    assert r.exit_code == 1 and "already has an alert named 'dup'" in r.output


def test_run_test_history_and_deliveries(cli: Invoke, url: str) -> None:
    e = {**env(url), "EVENTKIT_ALERTS__SETTLE_SECONDS": "0"}
    with receiver() as rx:
        assert cli("alerts", "create", "all-events", "--metric", "events", "--above", "-1",
                   "--interval", "week", "--webhook", rx.url, env=e).exit_code == 0  # fmt: skip
        r = cli("alerts", "test", "all-events", env=e)
        assert r.exit_code == 0 and "sent to webhook" in r.output
        r = cli("alerts", "run", env=e)
        assert r.exit_code == 0 and "all-events:" in r.output and "1 delivered" in r.output
        assert [b["type"] for b in rx.bodies()] == ["alert.test", "alert.fired"]
    history = json.loads(cli("alerts", "history", "all-events", "-f", "json", env=e).output)
    assert history[0]["outcome"] == "fired"
    sent = json.loads(cli("alerts", "deliveries", "-f", "json", env=e).output)
    assert [(d["rule"], d["status"]) for d in sent] == [("all-events", "delivered")]
    assert "no dead letters" in cli("alerts", "deliveries", "--dead", env=e).output
    r = cli("alerts", "redeliver", env=e)
    assert r.exit_code == 0 and "0 messages back" in r.output


def test_digest_create_and_preview(cli: Invoke, url: str) -> None:
    e = env(url)
    r = cli("digest", "create", "weekly", "--period", "weekly", "--funnel", "$session_start,$crash",
            "--email", "team@example.com", env=e)  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "weekly" in cli("digest", "list", env=e).output
    r = cli("digest", "preview", "weekly", env=e)
    assert r.exit_code == 0 and r.output.startswith("Subject: [eventkit] demo weekly digest")
    assert "Active users:" in r.output and "$session_start → $crash" in r.output
    content = json.loads(cli("digest", "preview", "weekly", "-f", "json", env=e).output)
    assert content["period"] == "weekly" and "top_events" in content
    assert cli("digest", "delete", "weekly", env=e).exit_code == 0


def test_report_releases_and_annotations(cli: Invoke, url: str, tmp_path: Path) -> None:
    e = {**env(url), "COLUMNS": "200"}
    since, until = "2026-05-01T00:00:00Z", "2026-05-11T00:00:00Z"
    body = json.loads(cli("report", "releases", "--since", since, "--until", until,
                          "--format", "json", env=e).output)  # fmt: skip
    assert body["report"] == "releases" and body["meta"]["latest"] == {
        "android": "2.1",
        "ios": "1.1",
    }
    table = cli("report", "releases", "--since", since, "--until", until, env=e).output
    assert "crash-free users" in table and "adoption (% of active users)" in table
    args = ["--version", "latest", "--platform", "ios", "--since", since, "--until", until]
    latest = json.loads(cli("report", "releases", *args, "-f", "json", env=e).output)
    assert [r["app_version"] for r in latest["rows"]] == ["1.1"]
    r = cli("annotate", "campaign launched", "--at", "2026-05-08T12:00:00Z", env=e)
    assert r.exit_code == 0 and "campaign launched" in r.output
    notes = json.loads(cli("annotations", "list", "--since", since, "--until", until, "-f", "json",
                           env=e).output)  # fmt: skip
    assert {n["text"] for n in notes} >= {"campaign launched", "1.1 (ios) first seen"}
    trends = json.loads(cli("report", "trends", "--since", since, "--until", until, "-f", "json",
                            env=e).output)  # fmt: skip
    assert "campaign launched" in [a["text"] for a in trends["meta"]["annotations"]]
    assert "▲ 2026-05-08T12:00 campaign launched" in cli(
        "report", "trends", "--since", since, "--until", until, env=e).output  # fmt: skip
    manual = next(n for n in notes if n["text"] == "campaign launched")
    assert cli("annotations", "delete", str(manual["id"]), env=e).exit_code == 0
    r = cli("annotations", "delete", str(manual["id"]), env=e)
    assert r.exit_code == 1 and "no annotation" in r.output
    r = cli("annotate", "x", "--at", "someday", env=e)
    assert r.exit_code == 1 and "--at" in r.output
    assert START < END
