"""The deterministic demo dataset the dashboard tests and the README screenshot use.

It is built the way ``eventkit demo`` builds it (the same simulation, the same running
A/B test, then rollups and sessions), but with a FIXED end time, so every run writes
the same events and every screen shows the same numbers. Times the domain stamps with
the wall clock (flag history, experiment creation) are pinned to the end time too.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from eventkit.aggregation import aggregate
from eventkit.config import Settings
from eventkit.demo import SimulationConfig, simulate
from eventkit.demo.experiment import install_demo_experiment
from eventkit.sessions.job import run_sessions_job
from eventkit.storage.apps import create_app
from eventkit.storage.engine import make_engine
from eventkit.storage.events import EventStore
from eventkit.storage.migrate import upgrade
from eventkit.timeutil import US_PER_DAY

__all__ = ["APP", "DAYS", "END", "USERS", "build_demo_db", "copy_db"]

#: The simulated period ends here; the dashboard's clock is pinned to it.
END = int(datetime(2026, 6, 30, 12, 0, tzinfo=UTC).timestamp()) * 1_000_000
DAYS = 14
USERS = 400
APP = "demo"
#: The simulation runs an hour past END: its days leave their last hour without new
#: sessions, and this puts sessions (and the live chart's events) right before END.
SIM_PAST_END = 3_600_000_000


def build_demo_db(settings: Settings) -> None:
    """Fill the (empty) database of ``settings`` with the demo app's traffic."""
    engine = make_engine(settings)
    try:
        upgrade(engine)
        app_id = create_app(engine, APP, "simulated demo traffic").app_id
        exp = install_demo_experiment(engine, app_id, started_at=END - DAYS * US_PER_DAY)
        cfg = SimulationConfig(
            users=USERS, days=DAYS, seed=42, end=END + SIM_PAST_END,
            purchase_hook=exp.purchase_multiplier, exposure_hook=exp.exposure,
        )  # fmt: skip
        simulate(EventStore(engine), app_id, cfg)
        aggregate(engine, settings.aggregation)
        run_sessions_job(engine, settings, now=END)
        with engine.begin() as conn:  # wall-clock stamps -> the fixed end
            conn.execute(text("UPDATE flag_history SET at = :t"), {"t": END})
            conn.execute(text("UPDATE flags SET created_at = :t, updated_at = :t"), {"t": END})
            conn.execute(text("UPDATE experiments SET created_at = :t"), {"t": END})
    finally:
        engine.dispose()


def copy_db(source: Path, target: Path) -> None:
    """Copy an SQLite database file (the fixture builds once and copies per test)."""
    shutil.copyfile(source, target)
