"""The privacy commands through the real CLI: apps set/settings, users export/delete,
privacy audit and purge."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from eventkit.cli.app import app
from eventkit.config import Settings
from eventkit.storage.apps import create_app
from eventkit.storage.events import EventStore
from eventkit.timeutil import US_PER_DAY, now_us
from tests.factories import make_event


def test_privacy_commands(settings: Settings, engine: Engine, tmp_path: Path) -> None:
    keys = create_app(engine, "shop")
    old = now_us() - 100 * US_PER_DAY
    EventStore(engine).write(
        [
            make_event(keys.app_id, user_id="u-7", anonymous_id="d-7"),
            make_event(keys.app_id, user_id="u-8", anonymous_id="d-8", ts=old),
        ]
    )
    runner = CliRunner()
    env = {
        "EVENTKIT_DATABASE_URL": settings.database_url,
        "EVENTKIT_PRIVACY__PROPAGATION_SECONDS": "0",
        "EVENTKIT_AGGREGATION__SETTLE_SECONDS": "0",
        "EVENTKIT_SESSIONS__SETTLE_SECONDS": "0",
    }

    def run(*args: str) -> str:
        result = runner.invoke(app, list(args), env=env)
        assert result.exit_code == 0, (result.output, result.exception)
        return result.stdout

    shown = json.loads(run("apps", "settings", "shop", "-f", "json"))
    assert shown["ip"] == "anonymize" and shown["plan_mode"] == "off"
    out = json.loads(
        run("apps", "set", "shop", "--ip", "drop", "--retention-days", "30",
            "--plan-mode", "warn", "--scrub", "*email*=hash", "-f", "json")
    )  # fmt: skip
    assert (out["ip"], out["retention_days"], out["plan_mode"]) == ("drop", 30, "warn")
    assert out["scrub"] == ["*email*=hash"]
    assert json.loads(run("apps", "set", "shop", "--no-scrub", "-f", "json"))["scrub"] == []
    bad = runner.invoke(app, ["apps", "set", "shop", "--ip", "mask"], env=env)
    assert bad.exit_code == 2 and "must be one of drop, anonymize" in bad.output

    target = tmp_path / "u7.json"
    run("users", "export", "u-7", "--app", "shop", "--output", str(target))
    data = json.loads(target.read_text())
    assert data["user_id"] == "u-7" and len(data["events"]) == 1
    assert data["anonymous_ids"] == ["d-7"]
    out = json.loads(run("users", "delete", "u-7", "--app", "shop", "--yes", "-f", "json"))
    assert out["deleted.events"] == 1
    aborted = runner.invoke(app, ["users", "delete", "u-8", "--app", "shop"], env=env, input="n\n")
    assert aborted.exit_code == 1

    run("aggregate", "run")
    run("sessions", "run")
    purged = json.loads(run("privacy", "purge", "-f", "json"))
    assert purged == [{"app_id": keys.app_id, "events": 1, "sessions": 1}]
    audit = json.loads(run("privacy", "audit", "--app", "shop", "-f", "json"))
    assert [a["action"] for a in audit] == [
        "retention_purge", "user_delete", "user_export", "settings", "settings",
    ]  # fmt: skip
