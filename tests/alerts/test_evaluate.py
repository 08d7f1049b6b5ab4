"""Rules on seeded series: thresholds, % change, anomaly (fires on the injected one,
quiet on weekends), the complete-bucket rule, cooldown, resolve and exactly-once, on
SQLite and PostgreSQL."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from eventkit.alerts.evaluate import due_bucket, evaluate_bucket, evaluate_rules, record
from eventkit.alerts.spec import AlertSpec, parse_spec
from eventkit.alerts.store import create_rule, get_rule, list_deliveries, list_runs, set_paused
from eventkit.config import Settings
from eventkit.timeutil import US_PER_DAY, US_PER_HOUR, US_PER_SECOND
from tests.alerts.conftest import SETTLE, T0
from tests.alerts.series import seasonal

MAIL = [{"type": "email", "to": "team@example.com"}]


def rule(engine: Engine, name: str, **definition: Any) -> None:
    definition.setdefault("destinations", MAIL)
    spec = parse_spec("alert", definition)
    assert isinstance(spec, AlertSpec)
    create_rule(engine, 1, "alert", name, spec, "test")


def after(bucket_end: int, extra_seconds: int = 1) -> int:
    """An instant just past the complete-bucket wait of a bucket ending then."""
    return bucket_end + (SETTLE + extra_seconds) * US_PER_SECOND


def kinds(engine: Engine) -> list[str]:
    return [d.kind for d in reversed(list_deliveries(engine, 1))]


def test_anomaly_fires_on_the_injected_drop_and_not_on_weekends(
    app: Engine, seed: Callable[..., None], alert_settings: Settings
) -> None:
    counts = seasonal(random.Random(8), 42, 300, cv=0.03)
    counts[36] = int(counts[36] * 0.4)  # a Tuesday: 60% of the sign-ups missing
    seed("signup", counts)
    rule(app, "signups", metric={"kind": "events", "event": "signup"},
         condition={"kind": "anomaly"}, interval="day")  # fmt: skip
    outcomes = {}
    for day in range(28, 42):
        run = evaluate_rules(app, alert_settings, now=after(T0 + (day + 1) * US_PER_DAY))
        outcomes[day] = run.outcomes["signups"]
    assert outcomes.pop(36) == "fired"
    assert outcomes.pop(37) == "resolved"
    assert set(outcomes.values()) == {"ok"}  # 4 weekends-worth of days, quiet
    assert kinds(app) == ["fired", "resolved"]
    [fired] = [r for r in list_runs(app, get_rule(app, 1, "alert", "signups").id)
               if r.outcome == "fired"]  # fmt: skip
    assert fired.value == counts[36] and fired.detail["score"] < -4
    assert abs(fired.baseline - sorted(counts[36 - 7 * j] for j in (1, 2, 3, 4))[1:3][0]) < 200


def test_too_little_history_is_no_data(app: Engine, seed: Callable[..., None],
                                       alert_settings: Settings) -> None:  # fmt: skip
    seed("signup", [100] * 10)
    rule(app, "early", metric={"kind": "events", "event": "signup"},
         condition={"kind": "anomaly"})  # fmt: skip
    run = evaluate_rules(app, alert_settings, now=after(T0 + 10 * US_PER_DAY))
    assert run.outcomes == {"early": "no_data"}


def test_threshold_and_the_complete_bucket_rule(
    app: Engine, seed: Callable[..., None], alert_settings: Settings
) -> None:
    seed("$screen", [50] * 10, unit="hour")
    rule(app, "traffic", metric={"kind": "events", "event": "$screen"},
         condition={"kind": "below", "threshold": 20}, interval="hour")  # fmt: skip
    hour10 = T0 + 10 * US_PER_HOUR
    # 10:30: hour 10 is half-finished with 5 events so far; only hour 9 is judged.
    seed("$screen", [5], unit="hour", offset=10)
    now = hour10 + 1800 * US_PER_SECOND
    spec = get_rule(app, 1, "alert", "traffic").alert
    assert due_bucket(spec, now, SETTLE) == (hour10 - US_PER_HOUR, hour10)
    assert evaluate_rules(app, alert_settings, now=now).outcomes == {"traffic": "ok"}
    # 11:03, within the settle time after hour 10: still not judged.
    assert evaluate_rules(app, alert_settings, now=hour10 + US_PER_HOUR + 180 * US_PER_SECOND
                          ).outcomes == {}  # fmt: skip
    # 11:06: hour 10 is complete, and it did stay at 5.
    assert evaluate_rules(app, alert_settings, now=after(hour10 + US_PER_HOUR)).outcomes == {
        "traffic": "fired"}  # fmt: skip
    msg = list_deliveries(app, 1)[0].message
    assert "below 20" in msg["text"] and "is 5" in msg["subject"]
    assert msg["webhook"]["value"] == 5.0 and msg["webhook"]["baseline"] == 20.0


def test_percent_change_against_yesterday_and_last_week(
    app: Engine, seed: Callable[..., None], alert_settings: Settings
) -> None:
    seed("purchase", [100, 100, 100, 100, 100, 60, 60, 100, 100, 100, 100, 100, 35])
    rule(app, "vs-yesterday", metric={"kind": "events", "event": "purchase"},
         condition={"kind": "drop", "threshold": 30})  # fmt: skip
    rule(app, "vs-last-week", metric={"kind": "events", "event": "purchase"},
         condition={"kind": "drop", "threshold": 30, "compare_to": "week"})  # fmt: skip
    sat = evaluate_rules(app, alert_settings, now=after(T0 + 6 * US_PER_DAY)).outcomes
    assert sat == {"vs-yesterday": "fired", "vs-last-week": "no_data"}  # no week before
    mon = evaluate_rules(app, alert_settings, now=after(T0 + 8 * US_PER_DAY)).outcomes
    assert mon == {"vs-yesterday": "resolved", "vs-last-week": "ok"}
    sat2 = evaluate_rules(app, alert_settings, now=after(T0 + 13 * US_PER_DAY)).outcomes
    assert sat2 == {"vs-yesterday": "fired", "vs-last-week": "fired"}  # 35 vs 100, vs 60
    newest_last = reversed(list_deliveries(app, 1))
    by = {d.message["webhook"]["rule"]: d.message["webhook"] for d in newest_last}
    assert by["vs-last-week"]["detail"]["change_pct"] == -41.67
    assert by["vs-last-week"]["baseline"] == 60.0
    assert by["vs-yesterday"]["detail"]["change_pct"] == -65.0


def test_cooldown_and_resolve(app: Engine, seed: Callable[..., None],
                              alert_settings: Settings) -> None:  # fmt: skip
    seed("error_shown", [20, 5, 20, 5, 5, 5, 5, 5, 20, 5], unit="hour")
    rule(app, "errors", metric={"kind": "events", "event": "error_shown"},
         condition={"kind": "above", "threshold": 10}, interval="hour", cooldown="6h")  # fmt: skip
    seen = []
    for h in range(10):
        run = evaluate_rules(app, alert_settings, now=after(T0 + (h + 1) * US_PER_HOUR))
        seen.append(run.outcomes["errors"])
    assert seen == ["fired", "resolved", "suppressed", "resolved", "ok", "ok", "ok", "ok",
                    "fired", "resolved"]  # fmt: skip
    # The suppressed firing is not announced, so neither is its resolution.
    assert kinds(app) == ["fired", "resolved", "fired", "resolved"]


def test_paused_rules_are_not_judged(app: Engine, seed: Callable[..., None],
                                     alert_settings: Settings) -> None:  # fmt: skip
    seed("x", [20], unit="hour")
    rule(app, "x", metric={"kind": "events", "event": "x"},
         condition={"kind": "above", "threshold": 1}, interval="hour")  # fmt: skip
    set_paused(app, 1, "alert", "x", True)
    assert evaluate_rules(app, alert_settings, now=after(T0 + US_PER_HOUR)).outcomes == {}
    set_paused(app, 1, "alert", "x", False)
    assert evaluate_rules(app, alert_settings, now=after(T0 + US_PER_HOUR)).outcomes == {
        "x": "fired"}  # fmt: skip


def test_one_verdict_per_bucket(app: Engine, seed: Callable[..., None],
                                alert_settings: Settings) -> None:  # fmt: skip
    seed("x", [20], unit="hour")
    rule(app, "x", metric={"kind": "events", "event": "x"},
         condition={"kind": "above", "threshold": 1}, interval="hour")  # fmt: skip
    r = get_rule(app, 1, "alert", "x")
    start, end = T0, T0 + US_PER_HOUR
    verdict = evaluate_bucket(app, alert_settings, r, start)
    now = after(end)
    # Eight "nodes" decide the same bucket at once: one wins, the others write nothing.
    results: list[str | None] = []
    barrier = threading.Barrier(8)

    def node() -> None:
        barrier.wait()
        results.append(record(app, alert_settings, r, start, end, verdict, now=now))

    threads = [threading.Thread(target=node) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results, key=lambda x: x is None) == ["fired", *[None] * 7]
    assert len(list_deliveries(app, 1)) == 1
    with app.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM alert_runs")).scalar_one() == 1


@pytest.mark.parametrize("interval", ["day", "week"])
def test_due_bucket_is_the_last_complete_one(interval: str) -> None:
    spec = parse_spec("alert", {"metric": {"kind": "active_users"}, "destinations": MAIL,
                                "condition": {"kind": "below", "threshold": 1},
                                "interval": interval})  # fmt: skip
    assert isinstance(spec, AlertSpec)
    wed_noon = T0 + 2 * US_PER_DAY + 12 * US_PER_HOUR
    start, end = due_bucket(spec, wed_noon, SETTLE)
    if interval == "day":
        assert (start, end) == (T0 + US_PER_DAY, T0 + 2 * US_PER_DAY)
    else:
        assert (start, end) == (T0 - 7 * US_PER_DAY, T0)
