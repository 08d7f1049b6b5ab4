"""The rollup job registered by eventkit.builtins.reports, and its switch."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from eventkit.aggregation import watermark
from eventkit.config import Settings
from eventkit.scheduler import collect_jobs
from tests.conftest import make_settings


def test_rollup_job_is_scheduled_and_aggregates(sim_engine: Engine, settings: Settings) -> None:
    jobs = {j.id: j for j in collect_jobs(settings)}
    job = jobs["aggregation.rollups"]
    assert job.seconds == 60
    job.func()
    job.func()  # a second run finds nothing new and changes nothing
    assert watermark(sim_engine) > 0


def test_rollup_job_can_be_turned_off(database_url: str) -> None:
    settings = make_settings(database_url, AGGREGATION__ENABLED="false")
    assert "aggregation.rollups" not in {j.id for j in collect_jobs(settings)}
