"""The built-in privacy and tracking registrations contribute their jobs, routes and
commands."""

from __future__ import annotations

import typer.main

from eventkit.cli.app import app
from eventkit.config import Settings
from eventkit.ingest.pipeline import STAGES
from eventkit.scheduler import collect_jobs
from tests.conftest import make_settings


def test_jobs(sqlite_url: str) -> None:
    settings: Settings = make_settings(
        sqlite_url, PRIVACY__PURGE_INTERVAL_HOURS="12", TRACKING__FLUSH_SECONDS="0"
    )
    jobs = {j.id: j for j in collect_jobs(settings)}
    assert jobs["privacy.retention"].seconds == 12 * 3600
    assert jobs["tracking.violations"].seconds == 1.0


def test_commands_and_stage_order() -> None:
    group = typer.main.get_command(app)
    commands = group.commands  # type: ignore[attr-defined]
    assert {"delete", "export", "show"} <= set(commands["users"].commands)
    assert {"set", "settings"} <= set(commands["apps"].commands)
    assert set(commands["schema"].commands) == {"push", "pull", "diff", "violations", "infer"}
    assert set(commands["privacy"].commands) == {"audit", "purge"}
    assert STAGES[-1] == "eventkit.privacy.stages:protect_stage"  # the IP is reduced last
    assert STAGES.index("eventkit.privacy.stages:forget_stage") < STAGES.index(
        "eventkit.tracking.stage:plan_stage"
    )
