"""Migration 0008: flags stored by 0.1 keep serving what they served, except that a
disabled boolean flag, once enabled, serves true to everyone."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from eventkit.config import Settings
from eventkit.flags.evaluator import Evaluator
from eventkit.flags.spec import FlagSpec, Rule, Variant, default_variants
from eventkit.flags.store import create_flag, flags_version, history, list_flags, set_enabled
from eventkit.storage.engine import make_engine
from eventkit.storage.migrate import status, upgrade

CONTEXTS = [{"user_id": f"user-{i}", "platform": "ios" if i % 2 else "android"} for i in range(40)]


def old_value(spec: FlagSpec, ctx: dict[str, Any]) -> Any:
    """What 0.1 served, computed without the evaluator for rule-less flags: the off
    variant while disabled, else the default variant to everyone."""
    if not spec.enabled:
        return spec.variant(spec.off_variant).value
    if not spec.rules:
        return spec.variant(spec.default_variant).value
    return Evaluator([spec]).evaluate(spec.key, ctx).value  # rules: unchanged


def specs() -> list[FlagSpec]:
    split = [Variant("control", "blue", 50), Variant("treatment", "green", 50)]
    return [
        # switched on in 0.1 and serving false to everyone: keeps serving false
        FlagSpec(key="on-serving-off", enabled=True, variants=default_variants("boolean")),
        # a 0.1 user's workaround: default_variant "on"; unchanged by the new rule
        FlagSpec(
            key="on-default-on",
            enabled=True,
            variants=default_variants("boolean"),
            default_variant="on",
        ),
        FlagSpec(
            key="split-no-rules",
            type="string",
            enabled=True,
            variants=split,
            default_variant="control",
            off_variant="control",
        ),
        FlagSpec(key="disabled", variants=default_variants("boolean")),
        FlagSpec(
            key="with-rules",
            enabled=True,
            variants=default_variants("boolean"),
            rules=[Rule(rollout=30.0)],
        ),
    ]


def migrated_flags(settings: Settings) -> tuple[Engine, int, list[FlagSpec], int]:
    """A database at 0.1's flags schema with the flags of :func:`specs`, then upgraded."""
    engine = make_engine(settings)
    upgrade(engine, "0003_flags")
    assert "0008_flags_everyone" not in status(engine).current
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO apps (id, name, description, created_at, settings) "
                "VALUES (1, 'ios', '', 0, '{}')"
            )
        )
    before = [create_flag(engine, 1, s, actor="t").spec for s in specs()]
    version = flags_version(engine, 1)
    upgrade(engine)
    return engine, version, before, 1


def test_enabled_flags_keep_serving_what_they_served(settings: Settings) -> None:
    engine, version_before, before, app_id = migrated_flags(settings)
    try:
        after = {r.spec.key: r.spec for r in list_flags(engine, app_id)}
        evaluator = Evaluator(after.values())
        for spec in before:
            for ctx in CONTEXTS:
                assert evaluator.evaluate(spec.key, ctx).value == old_value(spec, ctx), spec.key
        # Only the flags whose answer would have changed got a rule, audited.
        assert after["on-serving-off"].rules == [
            Rule(
                rollout=100.0,
                variant="off",
                description="migration:0008: keeps serving 'off' to everyone as before",
            )
        ]
        assert [r.variant for r in after["split-no-rules"].rules] == ["control"]
        assert after["on-default-on"].rules == []
        assert after["disabled"].rules == []
        assert after["with-rules"].rules == [Rule(rollout=30.0)]
        last = history(engine, app_id, "on-serving-off")[-1]
        assert (last.version, last.action, last.actor) == (2, "migrate", "migration:0008")
        assert len(history(engine, app_id, "on-default-on")) == 1
        assert flags_version(engine, app_id) == version_before + 1
    finally:
        engine.dispose()


def test_a_disabled_boolean_flag_enabled_after_the_upgrade_serves_true(
    settings: Settings,
) -> None:
    engine, _, _, app_id = migrated_flags(settings)
    try:
        spec = set_enabled(engine, app_id, "disabled", True, actor="t").spec
        evaluator = Evaluator([spec])
        assert {evaluator.evaluate("disabled", ctx).value for ctx in CONTEXTS} == {True}
        assert evaluator.evaluate("disabled", {}).reason == "STATIC"
    finally:
        engine.dispose()
