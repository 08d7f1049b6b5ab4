"""bench/goals.py: the reasons a missed issue-19 goal prints are computed right."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from goals import PSS_MIB, bottleneck, cpu_budget, evaluate
from measure import Scenario


def _scenario(**kw: object) -> Scenario:
    sc = Scenario("eventkit", "granian", 100, 1)
    for k, v in kw.items():
        setattr(sc, k, v)
    return sc


def test_cpu_budget_names_the_ceiling_and_the_largest_share() -> None:
    # 30,000 events/s with worker 48% + writer 81% + load generator 14% of a core:
    # 16 + 27 + 4.67 = 47.67 µs per event, so two cores carry 2e6 / 47.67 = 41,958/s.
    sc = _scenario(
        events_per_s=30_000, cpu_by_role={"worker": 48.0, "writer": 81.0}, loadgen_cpu_pct=14.0
    )
    found = cpu_budget(sc, 80_000, cores=2)
    assert found is not None
    largest, sentence = found
    assert largest == "writer"
    assert "25.0 µs of CPU per event on 2 cores" in sentence
    assert "47.7 µs (writer 27.0, worker 16.0, load generator 4.7)" in sentence
    assert "near 41,958 events/s" in sentence
    assert "1.9x less CPU per event" in sentence


def test_cpu_budget_is_silent_when_the_goal_fits() -> None:
    sc = _scenario(events_per_s=30_000, cpu_by_role={"worker": 48.0, "writer": 81.0})
    assert cpu_budget(sc, 40_000, cores=2) is None  # 43 µs per event: 46,511/s possible
    assert cpu_budget(_scenario(events_per_s=0.0), 40_000, cores=2) is None


def test_postgres_server_cpu_counts_in_the_budget_not_as_other_work() -> None:
    sc = _scenario(
        database="postgres",
        events_per_s=26_000,
        cpu_by_role={"worker": 33.0, "writer": 43.0},
        db_cpu_pct=55.0,
        loadgen_cpu_pct=9.0,
        other_cpu_pct=2.0,
    )
    kind, measured = bottleneck(sc)
    assert kind != "shared"
    assert "PostgreSQL 55%" in measured
    found = cpu_budget(sc, 61_000, cores=2)
    assert found is not None and found[0] == "PostgreSQL"


def test_a_saturated_writer_is_named() -> None:
    sc = _scenario(events_per_s=30_000, cpu_by_role={"worker": 48.0, "writer": 80.0})
    assert bottleneck(sc)[0] == "writer"
    sc.cpu_by_role["writer"] = 50.0
    assert bottleneck(sc)[0] == "latency"


def test_variant_runs_have_no_goal_of_their_own_but_explain_memory() -> None:
    default = _scenario(events_per_s=30_000, peak_pss_mib=475.0, pss_by_role={"writer": 315.0})
    small = _scenario(
        events_per_s=24_000, peak_pss_mib=260.0, pss_by_role={"writer": 100.0},
        settings={"EVENTKIT_SQLITE__CACHE_SIZE_MB": "16"}, variant="16M cache",
    )  # fmt: skip
    history = _scenario(events_per_s=29_000, history=1_000_000, peak_pss_mib=300.0)
    after = _scenario(events_per_s=31_000, peak_pss_mib=300.0)
    goals = evaluate([default, small, history, after], None, None)
    names = [g.name for g in goals]
    assert names == [
        "sqlite: history of 1,000,000 vs empty",
        "peak PSS of the serve tree, batches of 100",
    ]
    flat, memory = goals
    assert flat.baseline == pytest.approx(30_500)  # the two empty runs, not the variant
    assert memory.figure == 475.0 and not memory.met and memory.target == PSS_MIB
    assert any("sqlite.cache_size_mb=16: peak PSS 260 MiB" in w and "80% of the default" in w
               for w in memory.why)  # fmt: skip
