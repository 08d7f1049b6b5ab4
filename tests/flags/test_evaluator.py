"""The evaluator: operators, semantic versions, rule order, reasons, errors."""

from __future__ import annotations

from typing import Any

import pytest

from eventkit.errors import InvalidRequestError
from eventkit.flags.bucketing import bucket
from eventkit.flags.evaluator import Evaluator
from eventkit.flags.parse import parse_condition
from eventkit.flags.semver import parse_version
from eventkit.flags.spec import Condition, FlagSpec, Rule, Variant, default_variants, validate


def flag(*rules: Rule, **kw: Any) -> FlagSpec:
    base: dict[str, Any] = {
        "key": "f",
        "enabled": True,
        "variants": default_variants("boolean"),
        "rules": list(rules),
    }
    base.update(kw)
    return validate(FlagSpec(**base))


def when(attribute: str, operator: str, value: Any = None) -> Rule:
    return Rule([Condition(attribute, operator, value)])


CASES: list[tuple[str, str, Any, dict[str, Any], bool]] = [
    ("platform", "eq", "ios", {"platform": "ios"}, True),
    ("platform", "eq", "ios", {"platform": "android"}, False),
    ("platform", "eq", "ios", {}, False),
    ("platform", "neq", "ios", {"platform": "android"}, True),
    ("platform", "neq", "ios", {}, False),
    ("age", "eq", 30, {"age": "30"}, True),
    ("beta", "eq", True, {"beta": True}, True),
    ("country", "in", ["US", "CA"], {"country": "CA"}, True),
    ("country", "in", ["US", "CA"], {"country": "FR"}, False),
    ("country", "not_in", ["US", "CA"], {"country": "FR"}, True),
    ("country", "not_in", ["US", "CA"], {}, False),
    ("email", "contains", "@acme", {"email": "a@acme.com"}, True),
    ("email", "not_contains", "@acme", {"email": "a@b.com"}, True),
    ("tags", "contains", "vip", {"tags": ["new", "vip"]}, True),
    ("locale", "starts_with", "en", {"locale": "en-GB"}, True),
    ("locale", "ends_with", "GB", {"locale": "en-GB"}, True),
    ("locale", "starts_with", "fr", {"locale": "en-GB"}, False),
    ("email", "regex", r"^[a-z]+@acme\.com$", {"email": "bob@acme.com"}, True),
    ("email", "regex", r"^[a-z]+@acme\.com$", {"email": "bob@acme.org"}, False),
    ("age", "gt", 18, {"age": 19}, True),
    ("age", "gt", 18, {"age": 18}, False),
    ("age", "gte", 18, {"age": "18"}, True),
    ("age", "lt", 18, {"age": 17.5}, True),
    ("age", "lte", 18, {"age": "abc"}, False),
    ("app_version", "semver_gte", "2.3.0", {"app_version": "2.10.0"}, True),
    ("app_version", "semver_gte", "2.3.0", {"app_version": "2.3"}, True),
    ("app_version", "semver_gte", "2.3.0", {"app_version": "2.3.0-beta.1"}, False),
    ("app_version", "semver_lt", "2.3.0", {"app_version": "2.2.9"}, True),
    ("app_version", "semver_gt", "2.3.0", {"app_version": "2.3.0+build5"}, False),
    ("app_version", "semver_eq", "2.3", {"app_version": "2.3.0"}, True),
    ("app_version", "semver_lte", "2.3.0", {"app_version": "garbage"}, False),
    ("os_version", "semver_lt", "17", {"os_version": "16.4.1"}, True),
    ("plan", "is_set", None, {"plan": "pro"}, True),
    ("plan", "is_set", None, {"plan": None}, False),
    ("plan", "not_set", None, {}, True),
]


@pytest.mark.parametrize(("attr", "op", "value", "ctx", "match"), CASES)
def test_operators(attr: str, op: str, value: Any, ctx: dict[str, Any], match: bool) -> None:
    ev = Evaluator([flag(when(attr, op, value))]).evaluate("f", {"user_id": "u", **ctx})
    assert (ev.reason == "TARGETING_MATCH") is match, ev
    assert ev.value is match


def test_semver_ordering() -> None:
    order = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.0.1",
        "1.2",
        "1.10.0",
        "2",
    ]
    keys = [parse_version(v) for v in order]
    assert keys == sorted(keys)  # type: ignore[type-var]
    assert parse_version("not.a.version") is None


def test_all_conditions_must_hold_and_rules_are_ordered() -> None:
    spec = flag(
        Rule([Condition("platform", "eq", "ios"), Condition("country", "eq", "US")], variant="off"),
        Rule([Condition("platform", "eq", "ios")], variant="on"),
    )
    ev = Evaluator([spec])
    assert ev.evaluate("f", {"platform": "ios", "country": "US"}).variant == "off"
    r = ev.evaluate("f", {"platform": "ios", "country": "FR"})
    assert (r.variant, r.reason, r.rule) == ("on", "TARGETING_MATCH", 2)
    assert ev.evaluate("f", {"platform": "android"}).reason == "DEFAULT"


def test_reasons_static_disabled_split_and_errors() -> None:
    static = flag(key="s", rules=[], default_variant="on")
    disabled = flag(key="d", enabled=False, rules=[Rule()], off_variant="off")
    split = flag(
        key="x",
        type="string",
        variants=[Variant("a", "A", 1), Variant("b", "B", 1)],
        rules=[Rule()],
        default_variant="a",
        off_variant="a",
    )
    ev = Evaluator([static, disabled, split])
    assert ev.evaluate("s", {}).reason == "STATIC"
    assert ev.evaluate("s", {}).value is True
    d = ev.evaluate("d", {"user_id": "u"})
    assert (d.reason, d.value) == ("DISABLED", False)
    assert ev.evaluate("x", {"user_id": "u"}).reason == "SPLIT"
    missing = ev.evaluate("x", {})
    assert (missing.reason, missing.error_code) == ("ERROR", "TARGETING_KEY_MISSING")
    assert ev.evaluate("x", {"targetingKey": "u"}).value == ev.evaluate("x", {"user_id": "u"}).value
    nf = ev.evaluate("nope", {})
    assert (nf.reason, nf.error_code) == ("ERROR", "FLAG_NOT_FOUND")
    assert [e.key for e in ev.evaluate_all({"user_id": "u"})] == ["d", "s", "x"]


def test_device_bucketing_and_archived_flags() -> None:
    spec = flag(Rule(rollout=50), bucket_by="device")
    ev = Evaluator([spec])
    a = [ev.evaluate("f", {"anonymous_id": f"d{i}", "user_id": "same"}).value for i in range(200)]
    assert 50 < sum(a) < 150  # varies by device, not by the shared user id
    assert Evaluator([flag(archived=True)]).evaluate("f", {}).error_code == "FLAG_NOT_FOUND"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"key": "bad key"}, "flag key"),
        ({"variants": []}, "at least one variant"),
        ({"variants": [Variant("on", "yes", 1)], "default_variant": "on"}, "has a str value"),
        ({"default_variant": "nope"}, "no variant 'nope'"),
        ({"rules": [Rule(rollout=150)]}, "rollout"),
        ({"rules": [when("a", "like", "x")]}, "unknown operator"),
        ({"rules": [when("a", "in", "x")]}, "needs a list"),
        ({"rules": [when("a", "regex", "(")]}, "invalid regex"),
        ({"rules": [when("a", "semver_gt", "abc")]}, "not a version"),
    ],
)
def test_validation_messages(change: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        flag(**change)


def test_parse_condition() -> None:
    assert parse_condition("country in US,CA") == Condition("country", "in", ["US", "CA"])
    assert parse_condition("app_version semver_gte 2.3") == Condition(
        "app_version", "semver_gte", "2.3"
    )
    assert parse_condition("age gt 18") == Condition("age", "gt", 18)
    assert parse_condition("plan is_set") == Condition("plan", "is_set", None)
    assert parse_condition("name eq 'a b'") == Condition("name", "eq", "a b")
    with pytest.raises(InvalidRequestError):
        parse_condition("platform")


def test_event_style_context_is_flattened() -> None:
    from eventkit.flags.context import flatten_context

    ctx = {
        "app": {"version": "2.4.1", "build": "311"},
        "os": {"name": "iOS", "version": "17.2"},
        "location": {"country": "de"},
        "device": {"model": "iPhone15,2"},
        "locale": "de-DE",
    }
    assert flatten_context(ctx) == {
        "locale": "de-DE",
        "app_version": "2.4.1",
        "app_build": "311",
        "os_version": "17.2",
        "device_model": "iPhone15,2",
        "platform": "ios",
        "country": "DE",
    }
    assert flatten_context({**ctx, "platform": "ipados"})["platform"] == "ipados"
    flat = {"platform": "ios"}
    assert flatten_context(flat) is flat


def test_an_enabled_flag_without_rules_serves_everyone() -> None:
    # A boolean switched on serves true to everyone (its default variant is off).
    on = flag(key="on")
    assert on.default_variant == "off"
    ev = Evaluator([on])
    for ctx in ({}, {"user_id": "u1"}, {"anonymous_id": "d", "platform": "ios"}):
        r = ev.evaluate("on", ctx)
        assert (r.value, r.variant, r.reason, r.rule) == (True, "on", "STATIC", None)
    # Several weighted variants and no rules: everyone is in the split, by weight.
    split = flag(
        key="split",
        type="string",
        variants=[Variant("a", "A", 1), Variant("b", "B", 3)],
        default_variant="a",
        off_variant="a",
    )
    ev = Evaluator([split])
    got = [ev.evaluate("split", {"user_id": f"u{i}"}) for i in range(2000)]
    assert {r.reason for r in got} == {"SPLIT"}
    expected = [
        "a" if bucket("split", "split", "variant", f"u{i}") < 0.25 else "b" for i in range(2000)
    ]
    assert [r.variant for r in got] == expected
    assert 0.2 < expected.count("a") / 2000 < 0.3
    missing = ev.evaluate("split", {})
    assert (missing.error_code, missing.variant) == ("TARGETING_KEY_MISSING", "a")
