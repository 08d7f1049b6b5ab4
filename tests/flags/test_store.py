"""Flags in the database: create, change, audit history, restore, version counter, cache."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from eventkit.errors import ConflictError, InvalidRequestError, NotFoundError
from eventkit.flags.cache import EvaluatorCache
from eventkit.flags.spec import FlagSpec, Rule, default_variants
from eventkit.flags.store import (
    change_flag,
    create_flag,
    flags_version,
    get_flag,
    history,
    list_flags,
    load_specs,
    restore_flag,
)
from eventkit.storage.apps import create_app


def _spec(key: str = "new-ui") -> FlagSpec:
    return FlagSpec(key=key, variants=default_variants("boolean"))


def _enable(s: FlagSpec) -> FlagSpec:
    s.enabled = True
    return s


def test_create_change_history_restore(engine: Engine) -> None:
    app = create_app(engine, "app").app_id
    assert flags_version(engine, app) == 0
    rec = create_flag(engine, app, _spec(), actor="cli:alice")
    assert (rec.version, rec.spec.salt) == (1, "new-ui")
    with pytest.raises(ConflictError):
        create_flag(engine, app, _spec(), actor="cli:alice")
    change_flag(engine, app, "new-ui", _enable, action="enable", summary="on", actor="key:ek_s")

    def ramp(s: FlagSpec) -> FlagSpec:
        s.rules = [Rule(rollout=10)]
        return s

    change_flag(engine, app, "new-ui", ramp, action="rollout", summary="10%", actor="cli:bob")
    assert flags_version(engine, app) == 3
    hist = history(engine, app, "new-ui")
    assert [(h.version, h.action, h.actor) for h in hist] == [
        (1, "create", "cli:alice"),
        (2, "enable", "key:ek_s"),
        (3, "rollout", "cli:bob"),
    ]
    assert hist[0].spec.enabled is False
    back = restore_flag(engine, app, "new-ui", 1, actor="cli:carol")
    assert back.version == 4
    assert back.spec.enabled is False and back.spec.rules == []
    assert history(engine, app, "new-ui")[-1].summary == "restored version 1"
    with pytest.raises(NotFoundError, match="no version 9"):
        restore_flag(engine, app, "new-ui", 9, actor="x")


def test_invalid_change_is_rejected_and_not_stored(engine: Engine) -> None:
    app = create_app(engine, "app").app_id
    create_flag(engine, app, _spec(), actor="t")

    def broken(s: FlagSpec) -> FlagSpec:
        s.default_variant = "missing"
        return s

    with pytest.raises(InvalidRequestError):
        change_flag(engine, app, "new-ui", broken, action="set", summary="", actor="t")
    assert get_flag(engine, app, "new-ui").version == 1
    with pytest.raises(NotFoundError):
        get_flag(engine, app, "other")


def test_apps_are_isolated_and_archived_hidden(engine: Engine) -> None:
    a = create_app(engine, "a").app_id
    b = create_app(engine, "b").app_id
    create_flag(engine, a, _spec("x"), actor="t")
    create_flag(engine, b, _spec("x"), actor="t")
    create_flag(engine, a, _spec("y"), actor="t")

    def archive(s: FlagSpec) -> FlagSpec:
        s.archived = True
        return s

    change_flag(engine, a, "y", archive, action="set", summary="archived", actor="t")
    assert [r.spec.key for r in list_flags(engine, a)] == ["x"]
    assert [r.spec.key for r in list_flags(engine, a, archived=True)] == ["x", "y"]
    version, specs = load_specs(engine, b)
    assert (version, [s.key for s in specs]) == (1, ["x"])


def test_cache_recompiles_only_when_the_version_moves(engine: Engine) -> None:
    app = create_app(engine, "app").app_id
    create_flag(engine, app, _spec(), actor="t")
    cache = EvaluatorCache(engine, check_interval=0.0)
    first = cache.get(app)
    assert cache.get(app) is first
    assert first.evaluate("new-ui", {}).reason == "DISABLED"
    change_flag(engine, app, "new-ui", _enable, action="enable", summary="", actor="t")
    second = cache.get(app)
    assert second is not first
    assert second.evaluate("new-ui", {}).reason == "STATIC"
    slow = EvaluatorCache(engine, check_interval=3600)
    held = slow.get(app)
    change_flag(engine, app, "new-ui", _enable, action="enable", summary="", actor="t")
    assert slow.get(app) is held  # within the interval: no database read
    slow.invalidate(app)
    assert slow.get(app) is not held
