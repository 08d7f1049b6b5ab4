"""who_gets_what: one line per flag state, checked against the evaluator."""

from __future__ import annotations

from typing import Any

import pytest

from eventkit.flags.evaluator import Evaluator
from eventkit.flags.spec import Condition, FlagSpec, Rule, Variant, default_variants, validate
from eventkit.flags.summary import who_gets_what


def boolean(**kw: Any) -> FlagSpec:
    return validate(FlagSpec(key="f", variants=default_variants("boolean"), **kw))


SPLIT = [Variant("control", "monthly", 90), Variant("annual", "annual", 10)]


@pytest.mark.parametrize(
    ("spec", "line"),
    [
        (boolean(), "off: everyone gets false (off variant)"),
        (boolean(enabled=True), "on: everyone gets true"),
        (boolean(enabled=True, rules=[Rule(rollout=25)]), "on: 25% get true, the rest false"),
        (boolean(enabled=True, rules=[Rule()]), "on: everyone gets true"),
        (
            boolean(
                enabled=True,
                rules=[Rule([Condition("platform", "eq", "ios")], rollout=20)],
            ),
            "on: platform eq ios (20%) get true; everyone else gets false",
        ),
        (
            boolean(
                enabled=True,
                rules=[
                    Rule([Condition("country", "in", ["US", "CA"])], variant="off"),
                    Rule(rollout=50),
                ],
            ),
            "on: country in US,CA get false; 50% get true; everyone else gets false",
        ),
        (
            validate(
                FlagSpec(
                    key="p",
                    type="string",
                    enabled=True,
                    variants=SPLIT,
                    default_variant="control",
                    off_variant="control",
                )
            ),
            'on: everyone gets a split of control ("monthly") 90%, annual ("annual") 10%',
        ),
        (boolean(archived=True), "archived: not served (evaluations answer FLAG_NOT_FOUND)"),
    ],
)
def test_who_gets_what(spec: FlagSpec, line: str) -> None:
    assert who_gets_what(spec) == line


def test_the_line_agrees_with_the_evaluator() -> None:
    users = [{"user_id": f"u{i}"} for i in range(4000)]
    for spec, share in [
        (boolean(), 0.0),
        (boolean(enabled=True), 1.0),
        (boolean(enabled=True, rules=[Rule(rollout=25)]), 0.25),
    ]:
        ev = Evaluator([spec])
        got = sum(ev.evaluate("f", u).value is True for u in users) / len(users)
        assert abs(got - share) < 0.03, (who_gets_what(spec), got)
