"""The ``in_cohort`` flag-targeting operator: served by the server's evaluator from
the cohort's members, re-read when a refresh changes them; unknown (never matching)
where only definitions are available, as for local evaluation."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from eventkit.cohorts import create_cohort, parse_spec, refresh_cohort
from eventkit.config import Settings
from eventkit.flags.cache import EvaluatorCache
from eventkit.flags.evaluator import Evaluator
from eventkit.flags.spec import Condition, FlagSpec, Rule, default_variants
from eventkit.flags.store import create_flag, load_specs
from eventkit.storage.apps import create_app
from eventkit.storage.events import EventStore
from tests.factories import make_event


def _flag(key: str, op: str) -> FlagSpec:
    return FlagSpec(
        key=key, enabled=True, variants=default_variants("boolean"), default_variant="off",
        rules=[Rule(conditions=[Condition("user_id", op, "buyers")], variant="on")],
    )  # fmt: skip


def test_in_cohort_follows_refreshes(engine: Engine, settings: Settings) -> None:
    create_app(engine, "shop")
    store = EventStore(engine)
    store.write([make_event(1, "purchase_completed", user_id="ann")])
    spec = parse_spec({"conditions": [{"type": "event", "event": "purchase_completed"}]})
    create_cohort(engine, settings, "shop", "buyers", spec)
    create_flag(engine, 1, _flag("vip", "in_cohort"), actor="t")
    create_flag(engine, 1, _flag("upsell", "not_in_cohort"), actor="t")
    cache = EvaluatorCache(engine, check_interval=0.0)
    ev = cache.get(1)
    assert ev.evaluate("vip", {"user_id": "ann"}).value is True
    assert ev.evaluate("vip", {"user_id": "bob"}).value is False
    assert ev.evaluate("upsell", {"user_id": "bob"}).value is True
    assert ev.evaluate("upsell", {"user_id": "ann"}).value is False
    assert ev.evaluate("vip", {"anonymous_id": "d1"}).value is False  # no user_id: no match

    store.write([make_event(1, "purchase_completed", user_id="bob")])
    result = refresh_cohort(engine, settings, "shop", "buyers")
    assert (result.mode, result.added) == ("incremental", 1)
    assert cache.get(1).evaluate("vip", {"user_id": "bob"}).value is True  # reloaded

    # Definitions alone (local evaluation) cannot know members: cohort rules never match.
    _, specs = load_specs(engine, 1)
    local = Evaluator(specs)
    assert local.evaluate("vip", {"user_id": "ann"}).value is False
    assert local.evaluate("upsell", {"user_id": "carl"}).value is False
