"""The readout: exposure/conversion counting, exclusions, SRM, secondary metrics, and the
stored lifecycle (create, start, stop, ship) on both databases."""

from __future__ import annotations

import random
import uuid

import pytest
from scipy import stats
from sqlalchemy.engine import Engine

from eventkit.capture.schema import CanonicalEvent
from eventkit.errors import InvalidRequestError, NotFoundError
from eventkit.experiments.analysis import compute, readout
from eventkit.experiments.store import (
    ExperimentSpec,
    Metric,
    create_experiment,
    get_experiment,
    set_status,
    ship_variant,
)
from eventkit.flags.evaluator import Evaluator
from eventkit.flags.exposure import exposure_event
from eventkit.flags.spec import FlagSpec, Rule, Variant
from eventkit.flags.store import create_flag, get_flag, history
from eventkit.storage.apps import create_app
from eventkit.storage.events import EventStore
from eventkit.timeutil import now_us

H = 3600 * 1_000_000
BUY = Metric("conversion", "purchase")


def test_counts_window_and_exclusions() -> None:
    exposures = [
        ("a", "control", 0),
        ("a", "control", 5 * H),  # one user, two exposures
        ("b", "control", 0),
        ("c", "treatment", 0),
        ("d", "treatment", 0),
        ("e", "control", 0),
        ("e", "treatment", H),  # saw both: excluded
        ("f", "other", 0),  # not in the experiment
    ]
    events = [
        ("a", "purchase", 2 * H, {"amount": 10}),
        ("b", "purchase", -H, {}),  # before exposure
        ("c", "purchase", 71 * H, {"amount": 30}),
        ("d", "purchase", 73 * H, {}),  # after the 72 h window
        ("e", "purchase", 2 * H, {}),
        ("c", "open", H, {}),
        ("c", "open", 2 * H, {}),
    ]
    r = compute(
        "control",
        ["control", "treatment"],
        [50, 50],
        exposures,
        events,
        BUY,
        [Metric("count", "open"), Metric("mean", "purchase", "amount")],
        72 * H,
    )
    by = {v.variant: v for v in r.variants}
    assert (by["control"].exposed, by["control"].conversions) == (2, 1)
    assert (by["treatment"].exposed, by["treatment"].conversions) == (2, 1)
    assert r.excluded_multiple_variants == 1
    counts = {v.variant: v.secondary[0] for v in r.variants}
    assert (counts["treatment"].users, counts["treatment"].mean) == (2, 1.0)
    means = {v.variant: v.secondary[1] for v in r.variants}
    assert (means["control"].mean, means["treatment"].mean) == (10.0, 30.0)
    assert r.verdict.startswith("not enough data")


def _simulate(
    n: int, rates: dict[str, float], split: dict[str, float], seed: int = 1
) -> tuple[list[tuple[str, str, int]], list[tuple[str, str, int, dict[str, object]]]]:
    rnd = random.Random(seed)
    names, weights = list(split), list(split.values())
    exposures, events = [], []
    for i in range(n):
        v = rnd.choices(names, weights)[0]
        exposures.append((f"u{i}", v, 0))
        if rnd.random() < rates[v]:
            events.append((f"u{i}", "purchase", H, {}))
    return exposures, events


def test_statistics_match_scipy_on_the_counted_data() -> None:
    exposures, events = _simulate(
        20_000, {"control": 0.10, "treatment": 0.12}, {"control": 1, "treatment": 1}
    )
    r = compute("control", ["control", "treatment"], [1, 1], exposures, events, BUY, [], 72 * H)
    c, t = r.variants
    assert t.lift is not None
    _, p, _, _ = stats.chi2_contingency(
        [[c.conversions, c.exposed - c.conversions], [t.conversions, t.exposed - t.conversions]],
        correction=False,
    )
    assert t.lift.p_value == pytest.approx(p, rel=1e-9)
    assert r.srm_p_value == pytest.approx(stats.chisquare([c.exposed, t.exposed]).pvalue)
    assert not r.srm
    assert r.verdict.startswith("treatment beats control")
    assert t.prob_beat_control is not None and t.prob_beat_control > 0.99


def test_sample_ratio_mismatch_warns_loudly() -> None:
    exposures, events = _simulate(
        10_000, {"control": 0.1, "treatment": 0.1}, {"control": 55, "treatment": 45}
    )
    r = compute("control", ["control", "treatment"], [50, 50], exposures, events, BUY, [], 72 * H)
    assert r.srm
    assert r.verdict.startswith("SAMPLE RATIO MISMATCH")


def _event(app_id: int, who: str, name: str, ts: int) -> CanonicalEvent:
    return CanonicalEvent(
        app_id=app_id,
        event_id=uuid.uuid4(),
        name=name,
        timestamp=ts,
        sent_at=None,
        received_at=ts,
        ts=ts,
        user_id=who,
        anonymous_id=None,
        session_id=None,
        platform=None,
        app_version=None,
        country=None,
        ip=None,
        source="native",
        properties={},
        context={},
    )


def test_lifecycle_and_readout_from_the_event_store(engine: Engine) -> None:
    app = create_app(engine, "app").app_id
    flag = FlagSpec(
        key="paywall",
        type="string",
        enabled=True,
        variants=[Variant("control", "monthly", 50), Variant("annual", "annual", 50)],
        default_variant="control",
        off_variant="control",
        rules=[Rule()],
    )
    create_flag(engine, app, flag, actor="t")
    spec = ExperimentSpec(
        key="paywall-test", flag="paywall", control="control", variants=[], primary=BUY
    )
    with pytest.raises(InvalidRequestError, match="no variant 'nope'"):
        create_experiment(
            engine,
            app,
            ExperimentSpec(key="x", flag="paywall", control="nope", variants=[], primary=BUY),
        )
    with pytest.raises(NotFoundError):
        create_experiment(
            engine,
            app,
            ExperimentSpec(key="x", flag="missing", control="c", variants=[], primary=BUY),
        )
    rec = create_experiment(engine, app, spec)
    assert rec.spec.variants == ["control", "annual"]
    with pytest.raises(InvalidRequestError, match="draft"):
        set_status(engine, app, "paywall-test", "stopped")
    set_status(engine, app, "paywall-test", "running")
    evaluator = Evaluator([get_flag(engine, app, "paywall").spec])
    now = now_us()
    rows = []
    for i in range(400):
        ctx = {"user_id": f"u{i}"}
        ev = evaluator.evaluate("paywall", ctx)
        exp = exposure_event(app, ev, ctx, now + 1)
        assert exp is not None
        rows.append(exp)
        if i % (3 if ev.variant == "annual" else 5) == 0:
            rows.append(_event(app, f"u{i}", "purchase", now + 2))
    EventStore(engine).write(rows)
    r = readout(engine, app, get_experiment(engine, app, "paywall-test"))
    assert sum(v.exposed for v in r.variants) == 400
    assert r.variants[1].rate > r.variants[0].rate
    set_status(engine, app, "paywall-test", "stopped")
    shipped = ship_variant(engine, app, "paywall-test", "annual", actor="cli:test")
    assert (shipped.status, shipped.spec.shipped_variant) == ("shipped", "annual")
    after = get_flag(engine, app, "paywall").spec
    assert (after.default_variant, after.rules) == ("annual", [])
    served = Evaluator([after])
    assert {served.evaluate("paywall", {"user_id": f"u{i}"}).variant for i in range(50)} == {
        "annual"
    }
    assert history(engine, app, "paywall")[-1].summary == "experiment paywall-test shipped annual"


def test_srm_is_skipped_without_a_weighted_split() -> None:
    exposures, events = _simulate(2_000, {"off": 0.1, "on": 0.1}, {"off": 70, "on": 30})
    r = compute("off", ["off", "on"], [0, 100], exposures, events, BUY, [], 72 * H)
    assert (r.srm_checked, r.srm) == (False, False)
