"""Seeded daily series with weekly seasonality, growth and over-dispersed noise, and
the plain (non-seasonal) check the anomaly method is compared with."""

from __future__ import annotations

import math
import random
import statistics

WEEKEND = 0.55  # Saturday and Sunday traffic relative to a weekday


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw (normal approximation above 60)."""
    if lam > 60:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p < limit:
            return k
        k += 1


def seasonal(
    rng: random.Random, days: int, base: float, *, growth: float = 0.01, cv: float = 0.05
) -> list[int]:
    """Daily counts: weekday/weekend levels, ``growth`` per week, a gamma-distributed
    day-to-day level with coefficient of variation ``cv``, then Poisson noise. Day 0
    is a Monday."""
    out = []
    for d in range(days):
        level = base * (1 + growth) ** (d / 7) * (WEEKEND if d % 7 >= 5 else 1.0)
        level *= 1 + 0.06 * math.sin(d % 7)  # weekdays differ a little too
        lam = rng.gammavariate(1 / cv**2, level * cv**2) if cv else level
        out.append(poisson(rng, lam))
    return out


def naive_anomalous(value: float, previous: list[float], k: float) -> bool:
    """The usual non-seasonal check: outside mean ± k standard deviations of the
    previous seven days."""
    mean, sd = statistics.fmean(previous), statistics.pstdev(previous)
    return abs(value - mean) > k * max(sd, math.sqrt(max(mean, 1)))
