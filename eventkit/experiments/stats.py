"""The statistics of an experiment readout, in pure Python.

Every function here is checked against SciPy on the same inputs
(tests/experiments/test_stats.py). Formulas are spelled out in docs/experiments.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

from eventkit.experiments.special import chi2_sf, t_sf

__all__ = [
    "Interval",
    "LiftResult",
    "MeanResult",
    "mde",
    "prob_beat_control",
    "proportion_test",
    "sample_size",
    "srm_test",
    "welch_test",
    "wilson_interval",
]

_N = NormalDist()


@dataclass(frozen=True)
class Interval:
    """A confidence interval."""

    low: float
    high: float


@dataclass(frozen=True)
class LiftResult:
    """A treatment's conversion rate against control's."""

    absolute: float
    absolute_ci: Interval
    relative: float | None
    relative_ci: Interval | None
    z: float
    p_value: float


@dataclass(frozen=True)
class MeanResult:
    """Welch's t-test of a treatment mean against control's."""

    difference: float
    difference_ci: Interval
    relative: float | None
    t: float
    df: float
    p_value: float


def _z(confidence: float) -> float:
    return _N.inv_cdf(0.5 + confidence / 2.0)


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> Interval:
    """Wilson score interval of a proportion (well-behaved near 0 and 1)."""
    if n == 0:
        return Interval(0.0, 1.0)
    z = _z(confidence)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return Interval(max(0.0, centre - half), min(1.0, centre + half))


def proportion_test(
    conv_c: int, n_c: int, conv_t: int, n_t: int, confidence: float = 0.95
) -> LiftResult:
    """Two-proportion z-test (pooled standard error for the p-value, unpooled for the
    interval of the difference); relative lift interval by the delta method."""
    p_c, p_t = conv_c / n_c, conv_t / n_t
    diff = p_t - p_c
    pooled = (conv_c + conv_t) / (n_c + n_t)
    se_pooled = math.sqrt(pooled * (1 - pooled) * (1 / n_c + 1 / n_t))
    z = diff / se_pooled if se_pooled > 0 else 0.0
    p_value = 2 * (1 - _N.cdf(abs(z)))
    var_c, var_t = p_c * (1 - p_c) / n_c, p_t * (1 - p_t) / n_t
    se = math.sqrt(var_c + var_t)
    q = _z(confidence)
    rel: float | None = None
    rel_ci: Interval | None = None
    if p_c > 0:
        rel = diff / p_c
        se_rel = math.sqrt(var_t / p_c**2 + p_t**2 * var_c / p_c**4)
        rel_ci = Interval(rel - q * se_rel, rel + q * se_rel)
    return LiftResult(diff, Interval(diff - q * se, diff + q * se), rel, rel_ci, z, p_value)


def welch_test(
    mean_c: float,
    var_c: float,
    n_c: int,
    mean_t: float,
    var_t: float,
    n_t: int,
    confidence: float = 0.95,
) -> MeanResult:
    """Welch's unequal-variance t-test from summary statistics (sample variances)."""
    a, b = var_c / n_c, var_t / n_t
    se = math.sqrt(a + b)
    diff = mean_t - mean_c
    rel = diff / mean_c if mean_c else None
    if se == 0:
        return MeanResult(diff, Interval(diff, diff), rel, 0.0, float(n_c + n_t - 2), 1.0)
    t = diff / se
    df = (a + b) ** 2 / (a * a / (n_c - 1) + b * b / (n_t - 1))
    p_value = min(1.0, 2 * t_sf(abs(t), df))
    # The t quantile by bisection on t_sf (monotone), to keep SciPy out of run time.
    lo, hi = 0.0, 1000.0
    target = (1 - confidence) / 2
    for _ in range(200):
        mid = (lo + hi) / 2
        if t_sf(mid, df) > target:
            lo = mid
        else:
            hi = mid
    q = (lo + hi) / 2
    return MeanResult(diff, Interval(diff - q * se, diff + q * se), rel, t, df, p_value)


def _log_beta(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def prob_beat_control(conv_c: int, n_c: int, conv_t: int, n_t: int) -> float:
    """P(rate_t > rate_c) with uniform Beta(1, 1) priors on both rates.

    Exact sum (Evan Miller's closed form) when the treatment has at most 50,000
    conversions; a normal approximation of the two Beta posteriors beyond that.
    """
    a_c, b_c = 1 + conv_c, 1 + n_c - conv_c
    a_t, b_t = 1 + conv_t, 1 + n_t - conv_t
    if a_t <= 50_000:
        total = 0.0
        base = _log_beta(a_c, b_c)
        for i in range(a_t):
            total += math.exp(
                _log_beta(a_c + i, b_c + b_t) - math.log(b_t + i) - _log_beta(1 + i, b_t) - base
            )
        return min(1.0, max(0.0, total))

    def moments(a: float, b: float) -> tuple[float, float]:
        return a / (a + b), a * b / ((a + b) ** 2 * (a + b + 1))

    m_c, v_c = moments(a_c, b_c)
    m_t, v_t = moments(a_t, b_t)
    return _N.cdf((m_t - m_c) / math.sqrt(v_c + v_t))


def srm_test(observed: list[int], weights: list[float]) -> tuple[float, float]:
    """Sample-ratio-mismatch chi-square test: (statistic, p-value)."""
    total = sum(observed)
    share = sum(weights)
    if total == 0 or len(observed) < 2:
        return 0.0, 1.0
    expected = [total * w / share for w in weights]
    stat = sum((o - e) ** 2 / e for o, e in zip(observed, expected, strict=True) if e > 0)
    return stat, chi2_sf(stat, len(observed) - 1)


def sample_size(
    baseline: float, mde_relative: float, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Users per variant to detect a relative lift of ``mde_relative`` over ``baseline``
    with a two-sided two-proportion z-test."""
    p1 = baseline
    p2 = baseline * (1 + mde_relative)
    if not 0 < p1 < 1 or not 0 < p2 < 1 or p1 == p2:
        raise ValueError("baseline and baseline * (1 + mde) must be distinct rates in (0, 1)")
    za, zb = _N.inv_cdf(1 - alpha / 2), _N.inv_cdf(power)
    pbar = (p1 + p2) / 2
    num = za * math.sqrt(2 * pbar * (1 - pbar)) + zb * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return math.ceil(num**2 / (p2 - p1) ** 2)


def mde(baseline: float, n_per_variant: int, alpha: float = 0.05, power: float = 0.8) -> float:
    """The smallest relative lift detectable with ``n_per_variant`` users per variant."""
    lo, hi = 1e-6, (1 / baseline - 1) - 1e-9
    if sample_size(baseline, hi, alpha, power) > n_per_variant:
        return float("inf")
    for _ in range(100):
        mid = (lo + hi) / 2
        if sample_size(baseline, mid, alpha, power) > n_per_variant:
            lo = mid
        else:
            hi = mid
    return hi
