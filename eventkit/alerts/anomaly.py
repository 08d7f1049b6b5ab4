"""The anomaly check: a robust seasonal score (docs/alerts.md#anomaly).

The **expected** value of a bucket is the median of the same bucket in each of the last
``N`` weeks (``baseline``, default 4): the same weekday for daily buckets, the same
hour of the week for hourly ones; weekly buckets use the last ``N`` weeks. The
**spread** is how far such a median usually misses, measured on the same four weeks
of history: for every bucket of those weeks, its relative distance from the median of
the other ``N - 1`` weeks at the same position (leave-one-out), and

    relative spread = 1.4826 * median(|those relative distances|)
    spread          = max(relative spread * expected, noise)
    score           = (value - expected) / spread

The bucket is anomalous when ``|score| > k`` (``sensitivity``, default 4; only upward
or only downward moves with ``direction``). ``noise`` is the spread the metric has by
chance alone: the Poisson deviation ``sqrt(expected)`` of a count, the binomial standard
error of a percentage (eventkit.alerts.metrics).

Why this method:

- the same weekday (hour of the week) as the baseline removes weekly seasonality, so a
  quiet Sunday is not a drop;
- medians ignore a past anomaly in the history, where a mean and standard deviation
  would be pulled by it and hide the next one (1.4826 * MAD estimates a standard
  deviation for normal data);
- the spread is pooled over every position of the season (28 distances for daily
  buckets) instead of the four values of one weekday, whose MAD is often near 0 by
  luck and then turns any wobble into an alert; leave-one-out measures the miss of a
  median that did not see the value, which is what the check faces;
- the noise floor scales with volume: a 30% drop of 20 events is chance, of 20,000 not.

It needs at least ``MIN_POINTS`` (3) earlier weeks with data; before that the rule
reports ``no_data``. tests/alerts/test_anomaly.py and bench/alerts_anomaly.py measure
its false- and true-positive rates on seeded series with weekly seasonality.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "MAD_TO_SIGMA",
    "MIN_POINTS",
    "Verdict",
    "count_noise",
    "detect",
    "relative_spread",
    "share_noise",
]

#: Scales a median absolute deviation to a standard deviation (normal data).
MAD_TO_SIGMA = 1.4826
MIN_POINTS = 3
Direction = Literal["both", "up", "down"]


@dataclass(frozen=True)
class Verdict:
    """What the check concluded about one value."""

    anomalous: bool
    expected: float
    spread: float
    score: float


def relative_spread(groups: Sequence[Sequence[float]]) -> float | None:
    """1.4826 * the median leave-one-out relative miss over ``groups`` (each group: one
    season position's values over the baseline weeks); None with too little data."""
    misses = []
    for group in groups:
        values = list(group)
        if len(values) < MIN_POINTS:
            continue
        for i, x in enumerate(values):
            others = statistics.median(values[:i] + values[i + 1 :])
            if others:
                misses.append(abs(x - others) / abs(others))
    return MAD_TO_SIGMA * statistics.median(misses) if misses else None


def detect(
    value: float,
    baseline: Sequence[float],
    groups: Sequence[Sequence[float]] = (),
    *,
    sensitivity: float = 4.0,
    direction: Direction = "both",
    noise: float = 0.0,
) -> Verdict | None:
    """Whether ``value`` is anomalous against ``baseline`` (the same position in the
    earlier weeks); ``groups`` are every position's values for the spread (default:
    ``baseline`` alone). None when there are fewer than ``MIN_POINTS`` baseline values."""
    points = [float(b) for b in baseline]
    if len(points) < MIN_POINTS:
        return None
    expected = statistics.median(points)
    rel = relative_spread(groups or [points])
    spread = max((rel or 0.0) * abs(expected), noise, 1e-9)
    score = (value - expected) / spread
    if direction == "up":
        hit = score > sensitivity
    elif direction == "down":
        hit = score < -sensitivity
    else:
        hit = abs(score) > sensitivity
    return Verdict(hit, expected, spread, score)


def count_noise(expected: float) -> float:
    """The Poisson deviation of a count around ``expected`` (at least 1)."""
    return math.sqrt(max(expected, 1.0))


def share_noise(percent: float, sample: int) -> float:
    """The binomial standard error, in percentage points, of a share measured on
    ``sample`` items; a share of 0 or 100% keeps the uncertainty of one item."""
    if sample <= 0:
        return 100.0
    p = min(max(percent / 100.0, 1.0 / (sample + 1)), 1.0 - 1.0 / (sample + 1))
    return 100.0 * math.sqrt(p * (1 - p) / sample)
