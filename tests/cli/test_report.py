"""``eventkit simulate|demo|report|aggregate|users`` through the CLI runner."""

from __future__ import annotations

import json

import pytest

from eventkit.aggregation import watermark
from tests.cli.conftest import Invoke, assert_one_line_error


@pytest.fixture
def filled(run: Invoke) -> Invoke:
    result = run("simulate", "--users", "80", "--days", "10", "--seed", "5")
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output
    return run


def test_simulate_is_deterministic(filled: Invoke) -> None:
    again = filled("simulate", "--users", "80", "--days", "10", "--seed", "5")
    assert again.exit_code == 0
    assert "wrote 0 events" in again.output  # same seed, same event ids: all duplicates


@pytest.mark.parametrize(
    "args",
    [
        ["trends", "--event", "$screen", "--by", "platform"],
        ["trends", "--measure", "users", "--interval", "week", "--compare"],
        ["trends", "--where", "screen_name=home", "--interval", "hour", "--since", "2d"],
        ["active"],
        ["active", "--where", "platform=android"],
        ["top", "screens"],
        ["top", "countries", "--limit", "3"],
        [
            "funnel",
            "signup_completed",
            "onboarding_completed",
            "purchase_completed",
            "--window",
            "7d",
        ],
        [
            "funnel",
            "signup_completed",
            "purchase_completed",
            "--users-at",
            "2",
            "--status",
            "dropped",
        ],
        ["retention", "--interval", "week", "--periods", "3"],
        ["retention", "--where", "platform=ios", "--return-event", "$screen", "--periods", "3"],
    ],
)
def test_reports_in_every_format(filled: Invoke, args: list[str]) -> None:
    table = filled("report", *args)
    assert table.exit_code == 0, table.output
    body = filled("report", *args, "--format", "json")
    assert body.exit_code == 0, body.output
    data = json.loads(body.stdout)
    assert data["report"] in ("trends", "active", "top", "funnel", "funnel_users", "retention")
    csv = filled("report", *args, "-f", "csv")
    assert csv.exit_code == 0
    assert csv.stdout.splitlines()[0].split(",")[0] in ("bucket", "screen", "country", "step",
                                                        "user", "cohort")  # fmt: skip


def test_aggregate_commands(filled: Invoke, db_url: str) -> None:
    status = filled("aggregate", "status", "-f", "json")
    assert json.loads(status.stdout)["behind"] == 0  # simulate rolls up at the end
    rebuilt = filled("aggregate", "rebuild", "--since", "3d", "-f", "json")
    assert rebuilt.exit_code == 0, rebuilt.output
    assert json.loads(rebuilt.stdout)["days"] >= 3
    ran = filled("aggregate", "run", "-f", "json")
    assert json.loads(ran.stdout)["events"] == 0


def test_users_show(filled: Invoke) -> None:
    result = filled("users", "show", "user-0000001", "-f", "json")
    if result.exit_code != 0:  # user 1 may not have signed up with this seed
        result = filled("users", "show", "dev-0000001", "-f", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["events"]
    missing = filled("users", "show", "nobody")
    assert_one_line_error(missing, "no user or device")


def test_errors_are_one_line(filled: Invoke) -> None:
    assert_one_line_error(filled("report", "trends", "--where", "platform"), "key=value")
    assert_one_line_error(filled("report", "top", "--app", "nope"), "nope")
    assert_one_line_error(filled("report", "funnel", "only_one"), "two steps")


def test_demo(run: Invoke, db_url: str) -> None:
    result = run("demo", "--users", "30", "--days", "5")
    assert result.exit_code == 0, result.output
    assert "eventkit report funnel" in result.output
    from eventkit.storage.engine import make_engine
    from tests.conftest import make_settings

    engine = make_engine(make_settings(db_url))
    assert watermark(engine) > 0
    engine.dispose()


def test_trends_chart_on_a_terminal(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from eventkit.cli.output import Format
    from eventkit.cli.report import show
    from eventkit.reports import Report

    rows = [{"bucket": f"2026-01-0{d}", "platform": p, "count": d * (2 if p == "ios" else 1)}
            for d in range(1, 6) for p in ("ios", "android")]  # fmt: skip
    report = Report("trends", ["bucket", "platform", "count"], rows, {"event": "x"})
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    show(report, Format.table, chart=True)
    out = capsys.readouterr().out
    assert "no chart" not in out
    assert "2026-01-01" in out
