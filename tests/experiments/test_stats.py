"""Every statistic of the readout, checked against SciPy on the same inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats
from scipy import special as sp

from eventkit.experiments.special import betainc, chi2_sf, gammaincc, t_sf
from eventkit.experiments.stats import (
    mde,
    prob_beat_control,
    proportion_test,
    sample_size,
    srm_test,
    welch_test,
    wilson_interval,
)


@pytest.mark.parametrize("a", [0.5, 1.0, 2.5, 30.0, 400.0])
@pytest.mark.parametrize("b", [0.5, 3.0, 50.0])
@pytest.mark.parametrize("x", [0.001, 0.2, 0.5, 0.9, 0.999])
def test_betainc(a: float, b: float, x: float) -> None:
    assert betainc(a, b, x) == pytest.approx(sp.betainc(a, b, x), rel=1e-9, abs=1e-13)


@pytest.mark.parametrize("a", [0.5, 1.0, 4.5, 50.0])
@pytest.mark.parametrize("x", [0.01, 1.0, 3.0, 60.0, 200.0])
def test_gammaincc(a: float, x: float) -> None:
    assert gammaincc(a, x) == pytest.approx(sp.gammaincc(a, x), rel=1e-9, abs=1e-13)


@pytest.mark.parametrize("t", [-3.0, -0.5, 0.0, 0.7, 2.1, 6.0])
@pytest.mark.parametrize("df", [1.0, 4.3, 30.0, 1000.0])
def test_t_and_chi2_tails(t: float, df: float) -> None:
    assert t_sf(t, df) == pytest.approx(stats.t.sf(t, df), rel=1e-9, abs=1e-13)
    x = abs(t) * 3
    assert chi2_sf(x, df) == pytest.approx(stats.chi2.sf(x, df), rel=1e-9, abs=1e-13)


@pytest.mark.parametrize(("k", "n"), [(0, 10), (3, 10), (50, 1000), (999, 1000), (10, 10)])
def test_wilson_interval(k: int, n: int) -> None:
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    ours = wilson_interval(k, n)
    assert (ours.low, ours.high) == pytest.approx((ci.low, ci.high), abs=1e-12)


@pytest.mark.parametrize(
    ("cc", "nc", "ct", "nt"), [(100, 1000, 130, 1000), (45, 5000, 41, 4800), (10, 80, 22, 85)]
)
def test_two_proportion_z_test(cc: int, nc: int, ct: int, nt: int) -> None:
    r = proportion_test(cc, nc, ct, nt)
    # SciPy: the pooled z-test is the chi-square test of the 2x2 table without
    # continuity correction (z^2 = chi2), with the same p-value.
    chi2, p, _, _ = stats.chi2_contingency([[cc, nc - cc], [ct, nt - ct]], correction=False)
    assert r.z**2 == pytest.approx(chi2, rel=1e-9)
    assert r.p_value == pytest.approx(p, rel=1e-9)
    pc, pt = cc / nc, ct / nt
    se = math.sqrt(pc * (1 - pc) / nc + pt * (1 - pt) / nt)
    q = stats.norm.ppf(0.975)
    assert (r.absolute_ci.low, r.absolute_ci.high) == pytest.approx(
        (pt - pc - q * se, pt - pc + q * se), rel=1e-12
    )
    assert r.relative == pytest.approx(pt / pc - 1)
    assert r.relative_ci is not None
    assert r.relative_ci.low < r.relative < r.relative_ci.high


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_welch_t_test(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.exponential(2.0, 400)
    b = rng.exponential(2.3, 350) + rng.normal(0, 0.5, 350)
    r = welch_test(a.mean(), a.var(ddof=1), len(a), b.mean(), b.var(ddof=1), len(b))
    ref = stats.ttest_ind(b, a, equal_var=False)
    assert r.t == pytest.approx(ref.statistic, rel=1e-10)
    assert r.p_value == pytest.approx(ref.pvalue, rel=1e-8)
    assert r.df == pytest.approx(ref.df, rel=1e-10)
    ci = ref.confidence_interval(0.95)
    assert (r.difference_ci.low, r.difference_ci.high) == pytest.approx((ci.low, ci.high), rel=1e-8)


@pytest.mark.parametrize(
    ("cc", "nc", "ct", "nt"), [(100, 1000, 130, 1000), (5, 50, 5, 50), (30, 400, 21, 380)]
)
def test_probability_to_beat_control(cc: int, nc: int, ct: int, nt: int) -> None:
    post_c = stats.beta(1 + cc, 1 + nc - cc)
    post_t = stats.beta(1 + ct, 1 + nt - ct)
    # P(T > C) = integral of pdf_T(x) * cdf_C(x) dx.
    ref, _ = integrate.quad(lambda x: post_t.pdf(x) * post_c.cdf(x), 0, 1, limit=500)
    assert prob_beat_control(cc, nc, ct, nt) == pytest.approx(ref, abs=1e-7)


def test_probability_to_beat_control_large_counts_uses_normal_approximation() -> None:
    p = prob_beat_control(60_000, 1_000_000, 61_000, 1_000_000)
    post_c = stats.beta(60_001, 940_001)
    post_t = stats.beta(61_001, 939_001)
    diff_sd = math.sqrt(post_c.var() + post_t.var())
    assert p == pytest.approx(stats.norm.cdf((post_t.mean() - post_c.mean()) / diff_sd), abs=1e-9)
    assert p > 0.99


@pytest.mark.parametrize(
    ("observed", "weights"),
    [([5000, 5100], [1, 1]), ([4800, 5200], [50, 50]), ([900, 2100, 3000], [1, 2, 3])],
)
def test_srm_chi_square(observed: list[int], weights: list[float]) -> None:
    total = sum(observed)
    expected = [total * w / sum(weights) for w in weights]
    ref = stats.chisquare(observed, expected)
    stat, p = srm_test(observed, weights)
    assert stat == pytest.approx(ref.statistic, rel=1e-12)
    assert p == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-15)


@pytest.mark.parametrize(("baseline", "lift"), [(0.1, 0.1), (0.05, 0.2), (0.3, -0.1)])
def test_sample_size_reaches_the_power(baseline: float, lift: float) -> None:
    n = sample_size(baseline, lift)
    p1, p2 = baseline, baseline * (1 + lift)

    def power(n: int) -> float:
        pbar = (p1 + p2) / 2
        se0 = math.sqrt(2 * pbar * (1 - pbar) / n)
        se1 = math.sqrt((p1 * (1 - p1) + p2 * (1 - p2)) / n)
        crit = stats.norm.ppf(0.975) * se0
        return float(stats.norm.sf((crit - abs(p2 - p1)) / se1))

    assert power(n) >= 0.8 > power(n - 2)
    if lift > 0:
        assert mde(baseline, n) == pytest.approx(lift, rel=0.02)
