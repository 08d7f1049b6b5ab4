"""The rollup job: incremental, idempotent, crash-safe, correct for late events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from eventkit.aggregation import aggregate, rebuild, watermark
from eventkit.aggregation import rollups as rollups_mod
from eventkit.config import AggregationSettings
from eventkit.errors import StorageError


def snapshot(engine: Engine) -> tuple[list[Any], list[Any]]:
    with engine.connect() as conn:
        counts = conn.execute(text("SELECT * FROM rollup_counts ORDER BY 1,2,3,4,5,6")).all()
        users = conn.execute(text("SELECT * FROM rollup_user_days ORDER BY 1,2,3,4")).all()
    return [tuple(r) for r in counts], [tuple(r) for r in users]


def max_id(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT MAX(id) FROM events")).scalar_one())


def test_incremental_runs_equal_one_rebuild(
    sim_engine: Engine, agg: AggregationSettings, add_late: Callable[[], int]
) -> None:
    first = aggregate(sim_engine, agg, max_batches=2)
    assert first.batches == 2
    assert watermark(sim_engine) == first.watermark < max_id(sim_engine)
    rest = aggregate(sim_engine, agg)
    assert first.events + rest.events == max_id(sim_engine)
    assert aggregate(sim_engine, agg).events == 0  # nothing new: nothing done
    add_late()
    assert aggregate(sim_engine, agg).events == 9
    incremental = snapshot(sim_engine)
    days = rebuild(sim_engine, agg)
    assert days >= 21
    assert snapshot(sim_engine) == incremental


def test_a_crash_mid_run_changes_nothing(
    sim_engine: Engine, agg: AggregationSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    aggregate(sim_engine, agg, max_batches=1)
    before, mark = snapshot(sim_engine), watermark(sim_engine)
    real = rollups_mod._statements
    calls = {"n": 0}

    def failing(dialect: str, dims: Any, where: str) -> list[str]:
        stmts = real(dialect, dims, where)
        calls["n"] += 1
        return [*stmts[:3], "SELECT no_such_column FROM events", *stmts[3:]]

    monkeypatch.setattr(rollups_mod, "_statements", failing)
    with pytest.raises(StorageError):
        aggregate(sim_engine, agg)
    assert calls["n"] == 1
    assert snapshot(sim_engine) == before  # the partial writes were rolled back
    assert watermark(sim_engine) == mark
    monkeypatch.setattr(rollups_mod, "_statements", real)
    aggregate(sim_engine, agg)
    crashed = snapshot(sim_engine)
    rebuild(sim_engine, agg)
    assert snapshot(sim_engine) == crashed


def test_rebuild_since_keeps_older_days(sim_engine: Engine, agg: AggregationSettings) -> None:
    aggregate(sim_engine, agg)
    before = snapshot(sim_engine)
    with sim_engine.connect() as conn:
        last = int(conn.execute(text("SELECT MAX(ts) FROM events")).scalar_one())
    seen: list[tuple[int, int]] = []
    assert rebuild(sim_engine, agg, since=last - 2 * 86_400_000_000,
                   progress=lambda d, t: seen.append((d, t))) == 3  # fmt: skip
    assert seen[-1] == (4, 4)  # three days, then the WAU/MAU windows
    assert snapshot(sim_engine) == before


def test_empty_database(engine: Engine, agg: AggregationSettings) -> None:
    assert aggregate(engine, agg).events == 0
    assert rebuild(engine, agg) == 0
    assert watermark(engine) == 0
