"""The readout of an experiment: who was exposed to what, who converted, and the
statistics per variant against control (docs/experiments.md, "Results").

Users are identified by ``user_id``, else ``anonymous_id``, on exposures and metric
events alike. A user exposed to more than one variant is excluded and counted.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from statistics import fmean, variance
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from eventkit.experiments.stats import (
    Interval,
    LiftResult,
    MeanResult,
    prob_beat_control,
    proportion_test,
    srm_test,
    welch_test,
    wilson_interval,
)
from eventkit.experiments.store import ExperimentRecord, Metric
from eventkit.flags.exposure import EXPOSURE_EVENT
from eventkit.flags.store import get_flag
from eventkit.storage.errors import map_db_errors
from eventkit.storage.models import EVENTS
from eventkit.timeutil import now_us

__all__ = ["Readout", "SecondaryResult", "VariantResult", "compute", "readout"]

#: p-value under which the sample ratio counts as mismatched.
SRM_ALPHA = 0.001


@dataclass
class SecondaryResult:
    """One secondary metric for one variant."""

    metric: str
    users: int
    mean: float
    test: MeanResult | None = None


@dataclass
class VariantResult:
    """The primary metric (and secondaries) for one variant."""

    variant: str
    exposed: int
    conversions: int
    rate: float
    rate_ci: Interval
    lift: LiftResult | None = None
    prob_beat_control: float | None = None
    secondary: list[SecondaryResult] = field(default_factory=list)


@dataclass
class Readout:
    """Everything ``eventkit experiments results`` prints."""

    key: str
    control: str
    variants: list[VariantResult]
    excluded_multiple_variants: int
    srm_chi2: float
    srm_p_value: float
    verdict: str
    #: False when some compared variant has weight 0 (assignment by rollout, not by a
    #: weighted split): there is no expected ratio to check against.
    srm_checked: bool = True

    @property
    def srm(self) -> bool:
        """True when the split differs from the weights beyond chance (p < 0.001)."""
        return self.srm_p_value < SRM_ALPHA


@dataclass
class _User:
    first: int
    variants: set[str]


def _who(user_id: str | None, anonymous_id: str | None) -> str | None:
    return user_id or anonymous_id


def _metric_name(m: Metric) -> str:
    return f"{m.kind}:{m.event}" + (f":{m.property}" if m.property else "")


def _per_user(m: Metric, events: list[tuple[int, dict[str, Any]]]) -> float | None:
    if m.kind == "count":
        return float(len(events))
    values = [
        float(p[m.property])
        for _, p in events
        if m.property
        and isinstance(p.get(m.property), int | float)
        and not isinstance(p.get(m.property), bool)
    ]
    return fmean(values) if values else None


def _secondary(m: Metric, groups: dict[str, list[float]], control: str) -> list[SecondaryResult]:
    out = []
    base = groups.get(control, [])
    for variant, values in groups.items():
        res = SecondaryResult(_metric_name(m), len(values), fmean(values) if values else math.nan)
        if variant != control and len(values) >= 2 and len(base) >= 2:
            res.test = welch_test(
                fmean(base), variance(base), len(base), fmean(values), variance(values), len(values)
            )
        out.append(res)
    return out


def _verdict(r: Readout, min_users: int = 100) -> str:
    if r.srm:
        return (
            f"SAMPLE RATIO MISMATCH (p = {r.srm_p_value:.2g}): the variants did not get the "
            "traffic their weights promise. Do not trust these results; find the cause "
            "(exposures not recorded for some variant, a changed split, bots) first."
        )
    treat = [v for v in r.variants if v.variant != r.control]
    if any(v.exposed < min_users for v in r.variants):
        return f"not enough data yet: every variant needs at least {min_users} exposed users"
    winners = [v for v in treat if v.lift and v.lift.p_value < 0.05 and v.lift.absolute > 0]
    losers = [v for v in treat if v.lift and v.lift.p_value < 0.05 and v.lift.absolute < 0]
    if winners:
        best = max(winners, key=lambda v: v.rate)
        assert best.lift is not None
        return (
            f"{best.variant} beats {r.control}: {best.lift.absolute * 100:+.2f} points "
            f"(p = {best.lift.p_value:.3g}, P(beat control) = {best.prob_beat_control:.1%})"
        )
    if losers and len(losers) == len(treat):
        return f"{r.control} (control) beats every treatment; keep it"
    return "no significant difference yet (p >= 0.05); keep running or accept no effect"


def compute(
    control: str,
    variants: list[str],
    weights: list[float],
    exposures: list[tuple[str, str, int]],
    metric_events: list[tuple[str, str, int, dict[str, Any]]],
    primary: Metric,
    secondary: list[Metric],
    window_us: int,
    key: str = "",
) -> Readout:
    """The readout from raw rows: exposures ``(user, variant, ts)`` and metric events
    ``(user, name, ts, properties)``. Pure: the tests drive it directly."""
    users: dict[str, _User] = {}
    for who, variant, ts in exposures:
        if variant not in variants:
            continue
        u = users.get(who)
        if u is None:
            users[who] = _User(ts, {variant})
        else:
            u.first = min(u.first, ts)
            u.variants.add(variant)
    mixed = sum(1 for u in users.values() if len(u.variants) > 1)
    clean = {w: u for w, u in users.items() if len(u.variants) == 1}
    by_user: dict[str, dict[str, list[tuple[int, dict[str, Any]]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for who, name, ts, props in metric_events:
        u = clean.get(who)
        if u is not None and u.first <= ts <= u.first + window_us:
            by_user[who][name].append((ts, props))
    exposed: dict[str, int] = dict.fromkeys(variants, 0)
    converted: dict[str, int] = dict.fromkeys(variants, 0)
    sec_values: list[dict[str, list[float]]] = [{v: [] for v in variants} for _ in secondary]
    for who, u in clean.items():
        (variant,) = u.variants
        exposed[variant] += 1
        events = by_user.get(who, {})
        if events.get(primary.event):
            converted[variant] += 1
        for i, m in enumerate(secondary):
            value = _per_user(m, events.get(m.event, []))
            if value is not None:
                sec_values[i][variant].append(value)
    results = []
    for v in variants:
        n, c = exposed[v], converted[v]
        results.append(VariantResult(v, n, c, c / n if n else 0.0, wilson_interval(c, n)))
    base = next(r for r in results if r.variant == control)
    for r in results:
        if r.variant != control and r.exposed and base.exposed:
            r.lift = proportion_test(base.conversions, base.exposed, r.conversions, r.exposed)
            r.prob_beat_control = prob_beat_control(
                base.conversions, base.exposed, r.conversions, r.exposed
            )
    for i, m in enumerate(secondary):
        for variant, res in zip(sec_values[i], _secondary(m, sec_values[i], control), strict=True):
            next(r for r in results if r.variant == variant).secondary.append(res)
    checked = all(w > 0 for w in weights)
    chi2, p = srm_test([exposed[v] for v in variants], weights) if checked else (0.0, 1.0)
    out = Readout(key, control, results, mixed, chi2, p, "", checked)
    out.verdict = _verdict(out)
    return out


def readout(engine: Engine, app_id: int, rec: ExperimentRecord) -> Readout:
    """Compute the readout of a started experiment from the event store."""
    spec = rec.spec
    flag = get_flag(engine, app_id, spec.flag).spec
    weights = {v.key: v.weight for v in flag.variants}
    start = rec.started_at or rec.created_at
    end = rec.stopped_at or now_us()
    window = int(spec.window_hours * 3600 * 1_000_000)
    names = {m.event for m in [spec.primary, *spec.secondary]}
    with map_db_errors(), engine.connect() as conn:
        rows = conn.execute(
            select(
                EVENTS.c.name,
                EVENTS.c.user_id,
                EVENTS.c.anonymous_id,
                EVENTS.c.ts,
                EVENTS.c.properties,
            ).where(
                EVENTS.c.app_id == app_id,
                EVENTS.c.ts >= start,
                EVENTS.c.ts <= end + window,
                EVENTS.c.name.in_([EXPOSURE_EVENT, *names]),
            )
        ).all()
    exposures = []
    metric_events = []
    for name, user_id, anon, ts, props in rows:
        who = _who(user_id, anon)
        if who is None:
            continue
        if name == EXPOSURE_EVENT and ts <= end and props.get("$feature_flag") == spec.flag:
            exposures.append((who, str(props.get("$feature_flag_variant")), ts))
        if name in names:
            metric_events.append((who, name, ts, props))
    return compute(
        spec.control,
        spec.variants,
        [weights.get(v, 0.0) for v in spec.variants],
        exposures,
        metric_events,
        spec.primary,
        spec.secondary,
        window,
        key=spec.key,
    )
