"""The plan document and the compiled checks: parsing errors say where, every
violation kind is recognised, and a conforming event costs no detailed check."""

from __future__ import annotations

import pytest

from eventkit.errors import InvalidRequestError
from eventkit.tracking.plan import diff_plans, dump_plan, parse_plan
from eventkit.tracking.validator import compile_plan

PLAN = """
description: shop
events:
  purchase:
    description: a purchase went through
    schema:
      type: object
      required: [price, currency]
      properties:
        price: {type: number, minimum: 0}
        currency: {type: string, enum: [EUR, USD]}
        items:
          type: array
          items: {type: object, properties: {sku: {type: string}}}
      additionalProperties: false
  app_open: {}
"""


def test_parse_normalizes_and_round_trips() -> None:
    plan = parse_plan(PLAN)
    assert list(plan["events"]) == ["app_open", "purchase"]
    assert plan["events"]["app_open"] == {}
    assert parse_plan(dump_plan(plan)) == plan


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("events: [a, b]", "`events` must map event names"),
        ("nope: 1", "must be a mapping with an `events` mapping"),
        ("events: {a: {schema: {type: bogus}}}", "events.a.schema.type is invalid"),
        ("events: {a: {shema: {}}}", "events.a has unknown keys ['shema']"),
        ("events: {a: 1}", "events.a must be a mapping"),
        ("events: {a: [}", "is not valid YAML"),
    ],
)
def test_bad_plans_say_what_to_fix(text: str, fragment: str) -> None:
    with pytest.raises(InvalidRequestError) as err:
        parse_plan(text, "plan.yaml")
    assert fragment in err.value.message
    assert err.value.message.startswith("plan.yaml")


def test_every_violation_kind() -> None:
    plan = compile_plan(parse_plan(PLAN), "enforce")
    assert plan.check("purchase", {"price": 3.5, "currency": "EUR"}) == []
    assert plan.check("app_open", {"anything": [1, {"x": None}]}) == []
    assert plan.check("$identify", {"$set": {}}) == []  # reserved names are allowed
    found = plan.check("purchase", {"price": "3", "coupon": "X", "items": [{"sku": 1}]})
    assert sorted((v.kind, v.property) for v in found) == [
        ("missing_property", "currency"),
        ("unexpected_property", "coupon"),
        ("wrong_type", "items[].sku"),
        ("wrong_type", "price"),
    ]
    by_prop = {v.property: v for v in found}
    assert by_prop["price"].message == "must be number, not string"
    assert by_prop["price"].field_name() == "properties.price"
    found = plan.check("purchase", {"price": -1, "currency": "GBP"})
    assert {(v.kind, v.property) for v in found} == {
        ("invalid_value", "price"),
        ("invalid_value", "currency"),
    }
    # Messages never echo the value (they are stored as examples).
    assert all("GBP" not in v.message for v in found)
    (unplanned,) = plan.check("refund", {})
    assert (unplanned.kind, unplanned.field_name()) == ("unplanned_event", "name")


def test_diff() -> None:
    old = parse_plan(PLAN)
    new = parse_plan(PLAN.replace("minimum: 0", "minimum: 1").replace("app_open: {}", "signup: {}"))
    d = diff_plans(old, new)
    assert (d.added, d.removed, d.changed) == (["signup"], ["app_open"], ["purchase"])
    assert diff_plans(old, old).empty
    assert diff_plans(None, old).added == ["app_open", "purchase"]
