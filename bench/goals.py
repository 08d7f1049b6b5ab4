"""The goals of issue 19, evaluated on one run of bench/ingest.py.

Each goal compares a figure with its baseline from the same run. A missed goal says
what the run measured about why (which process of the serve tree was the limit) and
the next lever (docs/performance.md has the measurements behind each).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from measure import Scenario
from writer import WriterParts

__all__ = ["Goal", "evaluate"]

#: Batches of 100 against raw index-free sqlite3 executemany (b).
BATCH_VS_RAW = 0.50
#: Single events against the decode-and-discard ceiling (a).
SINGLE_VS_CEILING = 0.60
#: The rate with a history against the rate into an empty database.
HISTORY_FLAT = 0.90
#: PostgreSQL against raw COPY into an index-free copy of events.
PG_VS_COPY = 0.50
#: Peak PSS of the serve process tree under the batch-100 load, MiB.
PSS_MIB = 250.0
#: The setting the memory goal's small-cache run changes (bench/ingest.py --small-cache-mb).
_CACHE = "EVENTKIT_SQLITE__CACHE_SIZE_MB"

_LEVERS = {
    "writer": (
        "next lever: less work per event in the writer process - the (app_id, ts) index "
        "takes a random B-tree insert per event (docs/performance.md); a time index by "
        "arrival minute would append instead, at the price of changing every reader"
    ),
    "worker": (
        "next lever: less Python per request in the HTTP worker (validation, pipeline), "
        "or a second worker on a machine with a spare core (--workers 2)"
    ),
    "machine": (
        "next lever: a machine where the load generator, the HTTP worker and the writer "
        "do not share two cores; per-event CPU is the figure to cut"
    ),
    "shared": (
        "next lever: none in eventkit until the figure is measured on a machine the "
        "benchmark has to itself (the run shares its cores with other work)"
    ),
    "PostgreSQL": (
        "next lever: less work per row in PostgreSQL (the writer already uses COPY): fewer "
        "indexes written per event, or the database on a machine of its own"
    ),
    "latency": ("next lever: fuller group commits (the loop is bound by commit latency, not CPU)"),
}


@dataclass
class Goal:
    """One goal: figure against baseline, met or not, and why."""

    name: str
    figure: float
    baseline: float
    target: float
    unit: str = "events/s"
    lower_is_better: bool = False
    why: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return self.figure / self.baseline if self.baseline else 0.0

    @property
    def met(self) -> bool:
        if self.lower_is_better:
            return self.figure <= self.target
        return self.ratio >= self.target

    def line(self) -> str:
        verdict = "met" if self.met else "MISSED"
        if self.lower_is_better:
            return (
                f"  {self.name:<44} {self.figure:,.0f} {self.unit} (goal <= {self.target:,.0f}): "
                f"{verdict}"
            )
        return (
            f"  {self.name:<44} {self.figure:,.0f} vs {self.baseline:,.0f} {self.unit} = "
            f"{100 * self.ratio:.1f}% (goal >= {100 * self.target:.0f}%): {verdict}"
        )


def bottleneck(s: Scenario) -> tuple[str, str]:
    """Which part of the run was the limit, and the measurement that says so."""
    cpu = s.cpu_by_role
    writer, worker = cpu.get("writer", 0.0), cpu.get("worker", 0.0)
    total = s.server_cpu_pct + s.loadgen_cpu_pct + s.db_cpu_pct + s.other_cpu_pct
    roles = ", ".join(f"{r} {v:.0f}%" for r, v in sorted(cpu.items()) if v >= 1)
    db = f", PostgreSQL {s.db_cpu_pct:.0f}%" if s.database == "postgres" else ""
    measured = (
        f"measured: CPU {roles}{db}, load generator {s.loadgen_cpu_pct:.0f}%, other "
        f"processes {s.other_cpu_pct:.0f}% (of one core)"
    )
    # The writer's commit thread waits in fsync for part of each commit, so a saturated
    # writer shows ~80% of a core, not 100%: py-spy on a batch-100 run (2026-12-06) had
    # the commit thread in its commit 84% of the time while the process used 81%.
    if writer >= 75:
        return "writer", f"the writer process was busy {writer:.0f}% of the time; {measured}"
    if worker >= 85:
        return "worker", f"the HTTP worker was busy {worker:.0f}% of the time; {measured}"
    if s.other_cpu_pct >= 30:
        return "shared", f"other work used {s.other_cpu_pct:.0f}% of a core; {measured}"
    if total >= 170:
        return "machine", f"both cores were busy ({total:.0f}% of one core); {measured}"
    return "latency", f"no process was CPU-bound; {measured}"


def cpu_budget(s: Scenario, wanted_per_s: float, cores: int) -> tuple[str, str] | None:
    """When the goal's rate needs more CPU than the machine has at the CPU per event
    this run measured, say so with the figures: no scheduling of the same work across
    the processes could meet it, only less work per event (or more cores).

    The load generator and the database server count, as they share the cores. Returns
    the role that spent the most CPU per event, and the sentence."""
    if s.events_per_s <= 0 or wanted_per_s <= 0:
        return None
    parts = {r: v for r, v in s.cpu_by_role.items() if v >= 1}
    parts["load generator"] = s.loadgen_cpu_pct
    if s.database == "postgres":
        parts["PostgreSQL"] = s.db_cpu_pct
    us = {r: 1e4 * v / s.events_per_s for r, v in parts.items()}  # % of a core -> µs/event
    total = sum(us.values())
    ceiling = cores * 1e6 / total if total else 0.0
    if not ceiling or wanted_per_s <= ceiling:
        return None
    ranked = sorted(us.items(), key=lambda kv: -kv[1])
    each = ", ".join(f"{r} {v:.1f}" for r, v in ranked)
    allowed = cores * 1e6 / wanted_per_s
    return ranked[0][0], (
        f"CPU budget: the goal's {wanted_per_s:,.0f} events/s leaves {allowed:.1f} µs of CPU "
        f"per event on {cores} cores; this run spent {total:.1f} µs ({each}), so "
        f"even with every core busy the rate stops near {ceiling:,.0f} events/s: the goal "
        f"needs {total * wanted_per_s / (cores * 1e6):.1f}x less CPU per event or more cores"
    )


def _explain(goal: Goal, s: Scenario | None) -> Goal:
    if not goal.met and s is not None:
        kind, measured = bottleneck(s)
        budget = cpu_budget(s, goal.target * goal.baseline, os.cpu_count() or 1)
        if budget is None:
            goal.why = [measured, _LEVERS[kind]]
        else:  # out of the CPU budget: the lever is the process that spends the most
            largest, sentence = budget
            goal.why = [measured, sentence, _LEVERS.get(largest, _LEVERS["machine"])]
    return goal


def _first(scenarios: list[Scenario], **want: Any) -> Scenario | None:
    for s in scenarios:
        if not s.error and all(getattr(s, k) == v for k, v in want.items()):
            return s
    return None


def evaluate(
    scenarios: list[Scenario],
    raw: dict[str, Any] | None,
    copy: dict[str, Any] | None,
    writer: WriterParts | None = None,
) -> list[Goal]:
    """The goals this run has figures for."""
    goals: list[Goal] = []
    everything = [s for s in scenarios if s.kind == "eventkit"]
    ek = [s for s in everything if not s.settings]  # runs with settings of their own
    # have no goal of their own
    batch = _first(ek, database="sqlite", batch=100, history=0)
    if batch is not None and raw:
        goal = _explain(
            Goal("batches of 100 vs raw sqlite3 (b)", batch.events_per_s,
                 raw["rows_per_s"], BATCH_VS_RAW, "rows/s"),
            batch,
        )  # fmt: skip
        if goal.why and writer is not None:
            goal.why.insert(
                1,
                f"the writer alone: {writer.shipped_us:.1f} µs CPU per event "
                f"({writer.shipped_per_s:,.0f} events/s), of which the (app_id, ts) index "
                f"{writer.time_index_us:.1f} µs and decoding {writer.decode_us:.1f} µs; raw "
                f"sqlite3 writes a row in {1e6 / raw['rows_per_s']:.1f} µs",
            )
        goals.append(goal)
    single = _first(ek, database="sqlite", batch=1, history=0)
    ceiling = _first(scenarios, kind="ceiling", batch=1)
    if single is not None and ceiling is not None:
        goals.append(
            _explain(
                Goal("single events vs ceiling (a)", single.events_per_s,
                     ceiling.events_per_s, SINGLE_VS_CEILING),
                single,
            )
        )  # fmt: skip
    goals += _history_goals(ek, "sqlite")
    pg = _first(ek, database="postgres", batch=100, history=0)
    if pg is not None and copy:
        goals.append(
            _explain(
                Goal("PostgreSQL batches of 100 vs raw COPY", pg.events_per_s,
                     copy["rows_per_s"], PG_VS_COPY, "rows/s"),
                pg,
            )
        )  # fmt: skip
    goals += _history_goals(ek, "postgres")
    runs = [s for s in ek if s.batch == 100 and s.database == "sqlite" and s.peak_pss_mib]
    if runs:
        worst = max(runs, key=lambda s: s.peak_pss_mib)
        goal = Goal("peak PSS of the serve tree, batches of 100", worst.peak_pss_mib, 0.0,
                    PSS_MIB, "MiB", lower_is_better=True)  # fmt: skip
        parts = ", ".join(f"{r} {v:.0f}" for r, v in sorted(worst.pss_by_role.items()))
        goal.why = [
            f"{worst.label.strip()}: RSS {worst.peak_rss_mib:.0f} MiB; PSS by process: {parts}"
        ]
        # bench/ingest.py --small-cache-mb: the same load with a small SQLite page cache
        small = next((s for s in everything if _CACHE in s.settings and not s.error), None)
        default = _first(ek, database="sqlite", batch=100, history=0)
        if small is not None:
            goal.why += _memory_trade(small, default)
        goals.append(goal)
    return goals


def _memory_trade(small: Scenario, default: Scenario | None) -> list[str]:
    """What a small SQLite page cache buys and costs, from the same run."""
    parts = ", ".join(f"{r} {v:.0f}" for r, v in sorted(small.pss_by_role.items()))
    rate = f"{small.events_per_s:,.0f} events/s"
    if default is not None and default.events_per_s:
        rate += f" = {100 * small.events_per_s / default.events_per_s:.0f}% of the default's"
    verdict = "within" if small.peak_pss_mib <= PSS_MIB else "still above"
    return [
        f"with sqlite.cache_size_mb={small.settings[_CACHE]}: peak PSS "
        f"{small.peak_pss_mib:.0f} MiB ({parts}; {verdict} the goal) at {rate}: the "
        "writer's share above that is SQLite's page cache (sqlite.cache_size_mb, 256 by "
        "default), which fills as the database grows",
        "next lever: a smaller default page cache trades throughput for memory; the "
        "goal without the cache is main + worker + writer heap (docs/performance.md)",
    ]


def _history_goals(ek: list[Scenario], database: str) -> list[Goal]:
    """Each history's rate against the mean of the empty runs around it."""
    runs = [s for s in ek if s.database == database and s.batch == 100]
    histories = [s for s in runs if s.history]
    if not histories:
        return []
    first = runs.index(histories[0])
    empties = [s for s in runs[max(0, first - 1) :] if not s.history]
    if not empties:
        return []
    empty = sum(s.events_per_s for s in empties) / len(empties)
    out = []
    for s in histories:
        goal = Goal(f"{database}: history of {s.history:,} vs empty", s.events_per_s, empty,
                    HISTORY_FLAT)  # fmt: skip
        if not goal.met:
            cpu = ", ".join(f"{r} {v:.0f}%" for r, v in sorted(s.cpu_by_role.items()))
            rates = ", ".join(f"{e.events_per_s:,.0f}" for e in empties)
            goal.why = [
                f"empty runs: {rates} events/s; CPU with the history: {cpu}",
                "next lever: find the per-event cost that grows with the database "
                "(docs/performance.md, 'Flat with history')",
            ]
        out.append(goal)
    return out
