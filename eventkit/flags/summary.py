"""Who gets what: a flag's serving state in one line of plain words.

``eventkit flags create|enable|show`` (and every other change) print it, and the
dashboard shows it, so nobody has to work out from a definition what it serves:

- ``off: everyone gets false (off variant)``
- ``on: everyone gets true``
- ``on: 25% get true, the rest false``
- ``on: platform eq ios (20%) get true; everyone else gets false``
"""

from __future__ import annotations

import json

from eventkit.flags.spec import Condition, FlagSpec, Rule

__all__ = ["condition_text", "who_gets_what"]


def condition_text(c: Condition) -> str:
    """A condition as the CLI takes it: ``country in US,CA``, ``beta is_set``."""
    value = ",".join(map(str, c.value)) if isinstance(c.value, list) else c.value
    return f"{c.attribute} {c.operator} {'' if value is None else value}".strip()


def _value(spec: FlagSpec, key: str) -> str:
    """A variant as users see it: a boolean's value, else ``name (value)``."""
    value = spec.variant(key).value
    if spec.type == "boolean":
        return json.dumps(value)
    return f"{key} ({json.dumps(value, separators=(',', ':'))})"


def _split(spec: FlagSpec) -> str:
    """What the variant weights serve: one variant, or the split in percent."""
    weighted = [v for v in spec.variants if v.weight > 0]
    if len(weighted) == 1:
        return _value(spec, weighted[0].key)
    total = sum(v.weight for v in weighted)
    return "a split of " + ", ".join(
        f"{_value(spec, v.key)} {100 * v.weight / total:.3g}%" for v in weighted
    )


def _served(spec: FlagSpec, rule: Rule) -> str:
    return _value(spec, rule.variant) if rule.variant is not None else _split(spec)


def _who(rule: Rule) -> str:
    who = " and ".join(condition_text(c) for c in rule.conditions)
    if rule.rollout >= 100:
        return who or "everyone"
    return f"{who} ({rule.rollout:g}%)" if who else f"{rule.rollout:g}%"


def who_gets_what(spec: FlagSpec) -> str:
    """One line: on or off, and which users get which value."""
    if spec.archived:
        return "archived: not served (evaluations answer FLAG_NOT_FOUND)"
    if not spec.enabled:
        return f"off: everyone gets {_value(spec, spec.off_variant)} (off variant)"
    if not spec.rules:
        split = _split(spec)
        return f"on: everyone gets {split}"
    rest = _value(spec, spec.default_variant)
    first = spec.rules[0]
    if len(spec.rules) == 1 and not first.conditions:
        if first.rollout >= 100:
            return f"on: everyone gets {_served(spec, first)}"
        return f"on: {first.rollout:g}% get {_served(spec, first)}, the rest {rest}"
    parts = [f"{_who(r)} get {_served(spec, r)}" for r in spec.rules]
    return f"on: {'; '.join(parts)}; everyone else gets {rest}"
