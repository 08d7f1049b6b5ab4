"""Anomaly check: false- and true-positive rates on seeded series, beside the plain
checks it replaces, measured in the same run (docs/alerts.md#anomaly).

    python bench/alerts_anomaly.py            # 120 series per setting
    python bench/alerts_anomaly.py --series 400

Each series is daily counts with weekly seasonality (weekends at 55%), 1% growth a week
and gamma-distributed day-to-day noise of the given coefficient of variation, then
Poisson noise. Every day after 4 weeks of history is judged as it is (false positives)
and with the injected change (true positives). Baselines: "mean +- 2 sd of the previous
7 days" and "dropped 30% since yesterday".
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from eventkit.alerts.anomaly import count_noise, detect
from tests.alerts.series import naive_anomalous, seasonal

WEEKS = 4


def judge(s: list[int], t: int, value: float, k: float) -> bool:
    same = [s[t - 7 * j] for j in range(1, WEEKS + 1)]
    groups = [[s[t - d - 7 * j] for j in range(WEEKS)] for d in range(1, 8)]
    v = detect(value, same, groups, sensitivity=k, noise=count_noise(statistics.median(same)))
    return bool(v and v.anomalous)


def rates(base: float, cv: float, series: int, k: float, seed: int = 5) -> dict[str, float]:
    rng = random.Random(seed)
    names = ("fp", "-30%", "-50%", "x2", "naive fp", "naive -30%", "naive -50%", "day drop fp")
    hits = dict.fromkeys(names, 0)
    n = 0
    for _ in range(series):
        s = seasonal(rng, (WEEKS + 4) * 7, base, cv=cv)
        for t in range(WEEKS * 7, len(s)):
            n += 1
            hits["fp"] += judge(s, t, s[t], k)
            hits["-30%"] += judge(s, t, s[t] * 0.7, k)
            hits["-50%"] += judge(s, t, s[t] * 0.5, k)
            hits["x2"] += judge(s, t, s[t] * 2, k)
            prev = s[t - 7 : t]
            hits["naive fp"] += naive_anomalous(s[t], prev, 2.0)
            hits["naive -30%"] += naive_anomalous(s[t] * 0.7, prev, 2.0)
            hits["naive -50%"] += naive_anomalous(s[t] * 0.5, prev, 2.0)
            hits["day drop fp"] += s[t] <= 0.7 * s[t - 1]
    return {name: h / n for name, h in hits.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--series", type=int, default=120)
    args = p.parse_args()
    started = time.perf_counter()
    print(
        f"{'daily volume':>12} {'noise':>6} {'k':>4} | {'seasonal: fp':>12} {'-30%':>6} "
        f"{'-50%':>6} {'x2':>6} | {'mean+-2sd: fp':>13} {'-30%':>6} {'-50%':>6} | "
        f"{'day-drop fp':>11}"
    )
    for base, cv, k in (
        (1000, 0.05, 4.0),
        (1000, 0.05, 3.5),
        (1000, 0.05, 5.0),
        (20_000, 0.02, 4.0),
        (50, 0.05, 4.0),
        (1000, 0.10, 4.0),
    ):
        r = rates(base, cv, args.series, k)
        print(
            f"{base:>12,} {cv:>6.0%} {k:>4} | {r['fp']:>12.2%} {r['-30%']:>6.0%} "
            f"{r['-50%']:>6.0%} {r['x2']:>6.0%} | {r['naive fp']:>13.2%} "
            f"{r['naive -30%']:>6.0%} {r['naive -50%']:>6.0%} | "
            f"{r['day drop fp']:>11.1%}"
        )
    print(f"({args.series} series x 28 judged days per row, {time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
