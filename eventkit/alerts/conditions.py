"""Whether a rule's condition holds for one bucket, from the metric's values
(plain functions: tests feed them seeded series)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eventkit.alerts.anomaly import detect
from eventkit.alerts.metrics import Point
from eventkit.alerts.spec import AlertSpec
from eventkit.reports.query import bucket_start
from eventkit.timeutil import US_PER_DAY, US_PER_HOUR

__all__ = ["Check", "baseline_starts", "check", "compare_start", "needed_starts"]

_WEEK = 7 * US_PER_DAY


@dataclass(frozen=True)
class Check:
    """The verdict on one bucket. ``met`` is None when it cannot be told (no data, too
    little history); ``baseline`` is the threshold, the compared bucket's value or the
    anomaly check's expected value."""

    met: bool | None
    value: float | None
    baseline: float | None
    detail: dict[str, Any] = field(default_factory=dict)


def compare_start(spec: AlertSpec, start: int) -> int:
    """The bucket a drop or rise is measured against."""
    if spec.condition.compare_to == "week" and spec.interval != "week":
        return start - _WEEK
    return bucket_start(start - 1, spec.interval)


def baseline_starts(spec: AlertSpec, start: int) -> tuple[list[int], list[list[int]]]:
    """The anomaly check's baseline (the same position in each of the last N weeks)
    and the groups its spread is pooled over (every position of those weeks)."""
    n = spec.condition.baseline
    if spec.interval == "week":
        same = [start - j * _WEEK for j in range(1, n + 1)]
        return same, [same]
    step = US_PER_DAY if spec.interval == "day" else US_PER_HOUR
    season = _WEEK // step
    same = [start - j * _WEEK for j in range(1, n + 1)]
    groups = [[start - d * step - j * _WEEK for j in range(n)] for d in range(1, season + 1)]
    return same, groups


def needed_starts(spec: AlertSpec, start: int) -> list[int]:
    """Every bucket whose value the condition reads."""
    kind = spec.condition.kind
    if kind in ("above", "below"):
        return [start]
    if kind in ("drop", "rise"):
        return [start, compare_start(spec, start)]
    same, groups = baseline_starts(spec, start)
    return sorted({start, *same, *(s for g in groups for s in g)})


def _no_data(value: float | None, why: str, **detail: Any) -> Check:
    return Check(None, value, None, {"reason": why, **detail})


def check(spec: AlertSpec, start: int, points: dict[int, Point]) -> Check:
    """Evaluate the condition on the bucket starting at ``start``."""
    c = spec.condition
    now = points[start]
    detail = dict(now.detail)
    if now.value is None:
        return _no_data(None, "no value in this bucket", **detail)
    v = now.value
    if c.kind in ("above", "below"):
        t = float(c.threshold or 0)
        return Check(v > t if c.kind == "above" else v < t, v, t, detail)
    if c.kind in ("drop", "rise"):
        before = points[compare_start(spec, start)].value
        if not before:
            return _no_data(v, "nothing to compare with in the earlier bucket", **detail)
        change = 100.0 * (v - before) / abs(before)
        pct = float(c.threshold or 0)
        met = change <= -pct if c.kind == "drop" else change >= pct
        return Check(met, v, before, {**detail, "change_pct": round(change, 2)})
    same, groups = baseline_starts(spec, start)
    base = [p for s in same if (p := points[s].value) is not None]
    pooled = [[p for s in g if (p := points[s].value) is not None] for g in groups]
    noise = now.noise(spec.metric)
    verdict = detect(v, base, pooled, sensitivity=c.sensitivity, direction=c.direction, noise=noise)
    if verdict is None:
        return _no_data(
            v,
            f"the anomaly check needs {c.baseline} earlier weeks (at least 3) with data",
            **detail,
        )
    detail.update(
        expected=round(verdict.expected, 4),
        spread=round(verdict.spread, 4),
        score=round(verdict.score, 2),
        sensitivity=c.sensitivity,
    )
    return Check(verdict.anomalous, v, verdict.expected, detail)
