"""Conditions compiled into plain Python predicates over an attribute dict.

A missing attribute (absent or None) satisfies only ``not_set``: negated operators
(``neq``, ``not_in``, ``not_contains``) do not match users the app knows nothing about.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from eventkit.flags.semver import parse_version
from eventkit.flags.spec import Condition

__all__ = ["COHORT_OPERATORS", "Predicate", "cohorts_named", "compile_condition"]

#: Operators whose value names a cohort (docs/feature_flags.md, "Cohorts").
COHORT_OPERATORS = frozenset({"in_cohort", "not_in_cohort"})

Predicate = Callable[[dict[str, Any]], bool]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _equals(name: str, target: Any, negate: bool) -> Predicate:
    text = _text(target)

    def pred(attrs: dict[str, Any]) -> bool:
        a = attrs.get(name)
        if a is None:
            return False
        return (a == target or _text(a) == text) != negate

    return pred


def _member(name: str, values: list[Any], negate: bool) -> Predicate:
    texts = frozenset(_text(v) for v in values)

    def pred(attrs: dict[str, Any]) -> bool:
        a = attrs.get(name)
        if a is None:
            return False
        return (_text(a) in texts) != negate

    return pred


def _contains(name: str, target: Any, negate: bool) -> Predicate:
    text = _text(target)

    def pred(attrs: dict[str, Any]) -> bool:
        a = attrs.get(name)
        if a is None:
            return False
        found = text in (_text(x) for x in a) if isinstance(a, list) else text in _text(a)
        return found != negate

    return pred


def _string(name: str, test: Callable[[str], bool]) -> Predicate:
    def pred(attrs: dict[str, Any]) -> bool:
        a = attrs.get(name)
        return a is not None and test(_text(a))

    return pred


def _numeric(name: str, target: Any, op: str) -> Predicate:
    t = _number(target)
    cmp: Callable[[float, float], bool] = {
        "gt": float.__gt__,
        "gte": float.__ge__,
        "lt": float.__lt__,
        "lte": float.__le__,
    }[op]

    def pred(attrs: dict[str, Any]) -> bool:
        a = attrs.get(name)
        if a is None or t is None:
            return False
        n = _number(a)
        return n is not None and cmp(n, t)

    return pred


def _semver(name: str, target: Any, op: str) -> Predicate:
    t = parse_version(_text(target))
    cmp: Callable[[Any, Any], bool] = {
        "semver_eq": lambda a, b: a == b,
        "semver_gt": lambda a, b: a > b,
        "semver_gte": lambda a, b: a >= b,
        "semver_lt": lambda a, b: a < b,
        "semver_lte": lambda a, b: a <= b,
    }[op]

    def pred(attrs: dict[str, Any]) -> bool:
        a = attrs.get(name)
        if a is None or t is None:
            return False
        v = parse_version(_text(a))
        return v is not None and cmp(v, t)

    return pred


def _cohort(name: str, members: frozenset[str], negate: bool) -> Predicate:
    def pred(attrs: dict[str, Any]) -> bool:
        a = attrs.get(name)
        if a is None:
            return False
        return (_text(a) in members) != negate

    return pred


def compile_condition(
    c: Condition, cohorts: Mapping[str, frozenset[str]] | None = None
) -> Predicate:
    """A predicate equivalent to ``c`` (the condition is assumed validated).
    ``cohorts`` holds the members of the cohorts ``in_cohort`` names (a cohort missing
    from it, deleted say, has no members). Without ``cohorts`` (an evaluator built from
    definitions alone, as for local evaluation) membership is unknown and a cohort
    condition never matches, ``not_in_cohort`` included."""
    name, op, value = c.attribute, c.operator, c.value
    if op in COHORT_OPERATORS:
        if cohorts is None:
            return lambda attrs: False
        members = cohorts.get(_text(value), frozenset())
        return _cohort(name, members, op == "not_in_cohort")
    if op in ("eq", "neq"):
        return _equals(name, value, op == "neq")
    if op in ("in", "not_in"):
        return _member(name, list(value), op == "not_in")
    if op in ("contains", "not_contains"):
        return _contains(name, value, op == "not_contains")
    if op == "starts_with":
        prefix = _text(value)
        return _string(name, lambda s: s.startswith(prefix))
    if op == "ends_with":
        suffix = _text(value)
        return _string(name, lambda s: s.endswith(suffix))
    if op == "regex":
        pattern = re.compile(_text(value))
        return _string(name, lambda s: pattern.search(s) is not None)
    if op in ("gt", "gte", "lt", "lte"):
        return _numeric(name, value, op)
    if op.startswith("semver_"):
        return _semver(name, value, op)
    if op == "is_set":
        return lambda attrs: attrs.get(name) is not None
    if op == "not_set":
        return lambda attrs: attrs.get(name) is None
    raise ValueError(f"unknown operator {op!r}")


def cohorts_named(conditions: Iterable[Condition]) -> set[str]:
    """The cohorts that ``conditions`` target with ``in_cohort``/``not_in_cohort``."""
    return {_text(c.value) for c in conditions if c.operator in COHORT_OPERATORS}
