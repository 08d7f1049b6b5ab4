"""Bucketing: the documented vectors, uniformity, and rollouts that only ever add ids."""

from __future__ import annotations

import pytest
from scipy import stats

from eventkit.flags.bucketing import bucket, pick
from eventkit.flags.evaluator import Evaluator
from eventkit.flags.spec import FlagSpec, Rule, Variant, validate

# The same vectors are printed in docs/feature_flags.md ("Bucketing").
VECTORS = [
    (("new-checkout", "new-checkout", "rollout", "user-1"), 0.5038580383975078),
    (("new-checkout", "new-checkout", "rollout", "user-2"), 0.8159447629046485),
    (("new-checkout", "new-checkout", "variant", "user-1"), 0.7228619849056458),
    (("s1", "paywall", "rollout", "device-42"), 0.07819283246076147),
]


@pytest.mark.parametrize(("args", "expected"), VECTORS)
def test_documented_vectors(args: tuple[str, str, str, str], expected: float) -> None:
    assert bucket(*args) == expected


def test_vectors_are_in_the_docs() -> None:
    from pathlib import Path

    text = (Path(__file__).parents[2] / "docs" / "feature_flags.md").read_text()
    for _, expected in VECTORS:
        assert repr(expected) in text


def test_buckets_are_uniform_over_100k_ids() -> None:
    n, bins = 100_000, 100
    counts = [0] * bins
    for i in range(n):
        counts[int(bucket("salt", "flag", "rollout", f"user-{i}") * bins)] += 1
    _, p = stats.chisquare(counts)
    assert p > 0.001, counts
    # Variant picks on the independent hash are uniform too, and independent of rollout.
    variant = [0] * 4
    for i in range(n):
        if bucket("salt", "flag", "rollout", f"user-{i}") < 0.5:
            variant[
                pick(bucket("salt", "flag", "variant", f"user-{i}"), (0.25, 0.5, 0.75, 1.0))
            ] += 1
    assert stats.chisquare(variant).pvalue > 0.001, variant


def _flag(rollout: float) -> FlagSpec:
    return validate(
        FlagSpec(
            key="ramp",
            enabled=True,
            variants=[Variant("a", "A", 50), Variant("b", "B", 50), Variant("off", "-", 0)],
            type="string",
            rules=[Rule(rollout=rollout)],
        )
    )


def test_raising_a_rollout_only_adds_users_and_never_moves_them() -> None:
    ids = [f"u{i}" for i in range(20_000)]
    previous: dict[str, str] = {}
    for pct in (0, 1, 5, 10, 25, 50, 75, 99, 100):
        ev = Evaluator([_flag(pct)])
        served = {u: ev.evaluate("ramp", {"user_id": u}).variant or "" for u in ids}
        exposed = {u: v for u, v in served.items() if v != "off"}
        # Everyone exposed before is still exposed, with the same variant.
        assert all(exposed.get(u) == v for u, v in previous.items())
        assert abs(len(exposed) / len(ids) - pct / 100) < 0.02
        previous = exposed


def test_pick_edges() -> None:
    assert pick(0.0, (0.5, 1.0)) == 0
    assert pick(0.5, (0.5, 1.0)) == 1
    assert pick(0.999, (0.5, 1.0)) == 1
