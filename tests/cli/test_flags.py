"""``eventkit flags``: every command, JSON output, history/restore, one-line errors."""

from __future__ import annotations

import json
from typing import Any

from tests.cli.conftest import Invoke, assert_one_line_error


def _json(run: Invoke, *args: str) -> Any:
    result = run(*args, "--format", "json")
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads(result.stdout)


def test_flag_lifecycle(run: Invoke) -> None:
    assert run("apps", "create", "ios").exit_code == 0
    created = _json(run, "flags", "create", "new-ui", "--app", "ios", "--description", "New UI")
    assert (created["enabled"], created["version"], created["salt"]) == (False, 1, "new-ui")
    rules = _json(
        run,
        "flags",
        "rules",
        "new-ui",
        "--app",
        "ios",
        "--when",
        "platform eq ios",
        "--when",
        "app_version semver_gte 2.3",
        "--rollout",
        "100",
    )
    assert rules == [
        {
            "rule": 1,
            "conditions": "platform eq ios and app_version semver_gte 2.3",
            "rollout": 100.0,
            "variant": "(split)",
        }
    ]
    assert _json(run, "flags", "enable", "new-ui", "--app", "ios")["enabled"] is True
    ev = _json(
        run,
        "flags",
        "evaluate",
        "new-ui",
        "--app",
        "ios",
        "--user",
        "u1",
        "--attr",
        "platform=ios",
        "--attr",
        "app_version=2.4.0",
    )
    assert ev == [
        {
            "flag": "new-ui",
            "value": True,
            "variant": "on",
            "reason": "TARGETING_MATCH",
            "rule": 1,
            "error": None,
        }
    ]
    assert _json(run, "flags", "rollout", "new-ui", "0", "--app", "ios")["rules"][0]["rollout"] == 0
    ev = _json(
        run,
        "flags",
        "evaluate",
        "--app",
        "ios",
        "--user",
        "u1",
        "--attr",
        "platform=ios",
        "--attr",
        "app_version=2.4.0",
    )
    assert ev[0]["reason"] == "DEFAULT"
    assert _json(run, "flags", "disable", "new-ui", "--app", "ios")["enabled"] is False
    hist = _json(run, "flags", "history", "new-ui", "--app", "ios")
    assert [h["action"] for h in hist] == ["create", "rules", "enable", "rollout", "disable"]
    assert hist[1]["summary"] == "added rule: platform eq ios and app_version semver_gte 2.3"
    assert all(h["actor"].startswith("cli") for h in hist)
    restored = _json(run, "flags", "restore", "new-ui", "3", "--app", "ios")
    assert (restored["version"], restored["enabled"]) == (6, True)
    assert restored["rules"][0]["rollout"] == 100.0
    shown = _json(run, "flags", "show", "new-ui", "--app", "ios")
    assert shown["version"] == 6
    assert _json(run, "flags", "history", "new-ui", "--app", "ios")[-1]["summary"] == (
        "restored version 3"
    )
    table = run("flags", "history", "new-ui", "--app", "ios")
    assert table.exit_code == 0
    assert "history of new-ui" in table.stdout


def test_variants_splits_and_set(run: Invoke) -> None:
    assert run("apps", "create", "ios").exit_code == 0
    created = _json(
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
        "--bucket-by",
        "device",
        "--enable",
    )
    assert [v["weight"] for v in created["variants"]] == [50.0, 50.0]
    assert created["default_variant"] == "control"
    changed = _json(
        run,
        "flags",
        "set",
        "paywall",
        "--app",
        "ios",
        "--split",
        "control=90",
        "--split",
        "annual=10",
        "--no-exposures",
        "--description",
        "Paywall",
    )
    assert [v["weight"] for v in changed["variants"]] == [90.0, 10.0]
    assert (changed["exposures"], changed["description"]) == (False, "Paywall")
    _json(run, "flags", "rules", "paywall", "--app", "ios", "--everyone")
    ev = _json(run, "flags", "evaluate", "paywall", "--app", "ios", "--device", "d1")
    assert ev[0]["reason"] == "SPLIT"
    assert _json(run, "flags", "set", "paywall", "--app", "ios", "--archive")["archived"] is True
    assert _json(run, "flags", "list", "--app", "ios") == []
    listed = _json(run, "flags", "list", "--app", "ios", "--archived")
    assert listed[0]["key"] == "paywall"
    cleared = _json(run, "flags", "rules", "paywall", "--app", "ios", "--clear")
    assert cleared == []


def test_errors_are_one_line(run: Invoke) -> None:
    assert run("apps", "create", "ios").exit_code == 0
    assert_one_line_error(run("flags", "show", "nope", "--app", "ios"), "no flag 'nope'")
    assert_one_line_error(run("flags", "list", "--app", "nope"), "no app named 'nope'")
    assert_one_line_error(run("flags", "create", "bad key", "--app", "ios"), "flag key")
    assert run("flags", "create", "f", "--app", "ios").exit_code == 0
    assert_one_line_error(run("flags", "create", "f", "--app", "ios"), "already has a flag")
    assert_one_line_error(
        run("flags", "rules", "f", "--app", "ios", "--when", "platform like ios"),
        "unknown operator 'like'",
    )
    assert_one_line_error(run("flags", "restore", "f", "7", "--app", "ios"), "no version 7")
    assert_one_line_error(
        run("flags", "set", "f", "--app", "ios", "--default", "nope"), "no variant 'nope'"
    )


def test_create_enable_and_show_say_who_gets_what(run: Invoke) -> None:
    assert run("apps", "create", "ios").exit_code == 0

    def last_line(*args: str) -> str:
        result = run("flags", *args, "--app", "ios")
        assert result.exit_code == 0, result.output
        return result.stdout.strip().splitlines()[-1]

    assert last_line("create", "dark-mode", "--enable") == "on: everyone gets true"
    assert last_line("create", "checkout") == "off: everyone gets false (off variant)"
    assert last_line("enable", "checkout") == "on: everyone gets true"
    assert last_line("rollout", "checkout", "25") == "on: 25% get true, the rest false"
    assert last_line("show", "checkout") == "on: 25% get true, the rest false"
    assert last_line("disable", "checkout") == "off: everyone gets false (off variant)"
    # What the line says is what the evaluation serves.
    ev = _json(run, "flags", "evaluate", "dark-mode", "--app", "ios", "--user", "u1")
    assert (ev[0]["value"], ev[0]["reason"]) == (True, "STATIC")
    # JSON stays one document (no line after it).
    assert _json(run, "flags", "show", "checkout", "--app", "ios")["enabled"] is False
