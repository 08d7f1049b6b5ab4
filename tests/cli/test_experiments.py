"""``eventkit experiments``: create, start, results (table verdict and JSON), stop, ship,
list, size; one-line errors."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.engine import Engine

from eventkit.flags.evaluator import Evaluator
from eventkit.flags.exposure import exposure_event
from eventkit.flags.store import get_flag
from eventkit.storage.events import EventStore
from eventkit.timeutil import now_us
from tests.cli.conftest import Invoke, assert_one_line_error, canonical


def _json(run: Invoke, *args: str) -> Any:
    result = run(*args, "--format", "json")
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads(result.stdout)


def test_experiment_lifecycle(run: Invoke, db_engine: Engine) -> None:
    app_id = _json(run, "apps", "create", "ios")["app_id"]
    _json(
        run,
        "flags",
        "create",
        "paywall",
        "--app",
        "ios",
        "--type",
        "string",
        "--variant",
        "control=monthly",
        "--variant",
        "annual=annual",
        "--enable",
    )
    _json(run, "flags", "rules", "paywall", "--app", "ios", "--everyone")
    exp = _json(
        run,
        "experiments",
        "create",
        "paywall-test",
        "--app",
        "ios",
        "--flag",
        "paywall",
        "--control",
        "control",
        "--metric",
        "purchase",
        "--secondary",
        "count:open",
        "--window",
        "24",
    )
    assert (exp["status"], exp["variants"]) == ("draft", ["control", "annual"])
    assert_one_line_error(
        run("experiments", "results", "paywall-test", "--app", "ios"), "has not started"
    )
    assert _json(run, "experiments", "start", "paywall-test", "--app", "ios")["status"] == "running"
    evaluator = Evaluator([get_flag(db_engine, app_id, "paywall").spec])
    now = now_us()
    rows = []
    for i in range(300):
        ctx = {"user_id": f"u{i}"}
        ev = evaluator.evaluate("paywall", ctx)
        rows.append(exposure_event(app_id, ev, ctx, now + 1))
        if i % (2 if ev.variant == "annual" else 6) == 0:
            rows.append(canonical(app_id, "purchase", user_id=f"u{i}", ts=now + 2))
        rows.append(canonical(app_id, "open", user_id=f"u{i}", ts=now + 3))
    EventStore(db_engine).write([r for r in rows if r is not None])
    table = run("experiments", "results", "paywall-test", "--app", "ios", env={"COLUMNS": "250"})
    assert table.exit_code == 0, table.output
    assert "verdict:" in table.stdout
    assert "annual beats control" in table.stdout
    data = _json(run, "experiments", "results", "paywall-test", "--app", "ios")
    assert data["srm"] is False
    assert sum(v["exposed"] for v in data["variants"]) == 300
    assert data["variants"][1]["lift"]["p_value"] < 0.05
    assert data["variants"][0]["secondary"][0]["mean"] == 1.0
    assert _json(run, "experiments", "stop", "paywall-test", "--app", "ios")["status"] == "stopped"
    shipped = _json(run, "experiments", "ship", "paywall-test", "annual", "--app", "ios")
    assert (shipped["status"], shipped["shipped"]) == ("shipped", "annual")
    assert _json(run, "flags", "evaluate", "paywall", "--app", "ios")[0]["value"] == "annual"
    assert [e["key"] for e in _json(run, "experiments", "list", "--app", "ios")] == ["paywall-test"]


def test_size_calculator_and_errors(run: Invoke) -> None:
    assert _json(run, "experiments", "size", "--baseline", "0.1", "--mde", "0.1") == {
        "baseline": 0.1,
        "alpha": 0.05,
        "power": 0.8,
        "users_per_variant": 14751,
    }
    mde = _json(run, "experiments", "size", "--baseline", "0.1", "--users", "14751")
    assert abs(mde["mde_relative"] - 0.1) < 0.001
    assert_one_line_error(run("experiments", "size", "--baseline", "0.1"), "exactly one")
    assert _json(run, "apps", "create", "ios")["app"] == "ios"
    assert_one_line_error(
        run("experiments", "create", "e", "--app", "ios", "--flag", "nope", "--metric", "buy"),
        "no flag 'nope'",
    )
    assert_one_line_error(run("experiments", "start", "e", "--app", "ios"), "no experiment 'e'")
