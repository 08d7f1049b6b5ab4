"""The definition of a flag (``FlagSpec``) and its validation.

A definition is plain data (msgspec structs) so it round-trips through JSON: it is
stored as a document, served by ``GET /v1/flags/definitions`` and kept whole in the
audit history.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import msgspec

from eventkit.errors import InvalidRequestError

__all__ = [
    "OPERATORS",
    "Condition",
    "FlagSpec",
    "FlagType",
    "Rule",
    "Variant",
    "check_key",
    "default_variants",
    "validate",
]

FlagType = Literal["boolean", "string", "number", "json"]
BucketBy = Literal["user", "device"]

#: Every condition operator (docs/feature_flags.md, "Operators").
OPERATORS = frozenset(
    {
        "eq",
        "neq",
        "in_cohort",
        "not_in_cohort",
        "in",
        "not_in",
        "contains",
        "not_contains",
        "starts_with",
        "ends_with",
        "regex",
        "gt",
        "gte",
        "lt",
        "lte",
        "semver_eq",
        "semver_gt",
        "semver_gte",
        "semver_lt",
        "semver_lte",
        "is_set",
        "not_set",
    }
)
_LIST_OPS = frozenset({"in", "not_in"})
_NO_VALUE_OPS = frozenset({"is_set", "not_set"})
_KEY = re.compile(r"^[A-Za-z0-9._-]{1,200}$")


class Condition(msgspec.Struct, forbid_unknown_fields=True):
    """``attribute <operator> value``; e.g. ``app_version semver_gte "2.3.0"``."""

    attribute: str
    operator: str
    value: Any = None


class Rule(msgspec.Struct, forbid_unknown_fields=True):
    """All ``conditions`` must hold; then ``rollout`` percent of those ids get the flag.

    Matched ids get ``variant`` when set, else a variant chosen by the variant weights.
    """

    conditions: list[Condition] = []
    rollout: float = 100.0
    variant: str | None = None
    description: str = ""


class Variant(msgspec.Struct, forbid_unknown_fields=True):
    """A named value and its weight in splits (weights are relative)."""

    key: str
    value: Any
    weight: float = 0.0


class FlagSpec(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=False):
    """A complete flag definition."""

    key: str
    type: FlagType = "boolean"
    description: str = ""
    enabled: bool = False
    archived: bool = False
    variants: list[Variant] = []
    rules: list[Rule] = []
    default_variant: str = "off"
    off_variant: str = "off"
    bucket_by: BucketBy = "user"
    salt: str = ""
    exposures: bool = True

    def variant(self, key: str) -> Variant:
        """The variant named ``key``."""
        for v in self.variants:
            if v.key == key:
                return v
        raise InvalidRequestError(f"flag {self.key!r} has no variant {key!r}")


def check_key(key: str) -> str:
    """``key`` if it is a valid flag key, else raise InvalidRequestError."""
    if not _KEY.match(key):
        raise InvalidRequestError(
            f"flag key {key!r} must be 1-200 characters of A-Z, a-z, 0-9, '.', '_' or '-'"
        )
    return key


def default_variants(flag_type: FlagType) -> list[Variant]:
    """The variants a new flag of ``flag_type`` starts with."""
    if flag_type == "boolean":
        return [Variant("on", True, 100.0), Variant("off", False, 0.0)]
    if flag_type == "string":
        return [Variant("on", "on", 100.0), Variant("off", "off", 0.0)]
    if flag_type == "number":
        return [Variant("on", 1, 100.0), Variant("off", 0, 0.0)]
    return [Variant("on", {}, 100.0), Variant("off", {}, 0.0)]


def _type_ok(flag_type: FlagType, value: Any) -> bool:
    if flag_type == "boolean":
        return isinstance(value, bool)
    if flag_type == "string":
        return isinstance(value, str)
    if flag_type == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, dict | list)


def _check_condition(where: str, c: Condition) -> None:
    if c.operator not in OPERATORS:
        raise InvalidRequestError(
            f"{where}: unknown operator {c.operator!r}; use one of {', '.join(sorted(OPERATORS))}"
        )
    if not c.attribute:
        raise InvalidRequestError(f"{where}: the attribute must not be empty")
    if c.operator in _LIST_OPS and not isinstance(c.value, list):
        raise InvalidRequestError(f"{where}: {c.operator} needs a list value")
    if c.operator not in _NO_VALUE_OPS and c.value is None:
        raise InvalidRequestError(f"{where}: {c.operator} needs a value")
    if c.operator == "regex":
        try:
            re.compile(str(c.value))
        except re.error as exc:
            raise InvalidRequestError(f"{where}: invalid regex {c.value!r}: {exc}") from None
    if c.operator.startswith("semver_"):
        from eventkit.flags.semver import parse_version

        if parse_version(str(c.value)) is None:
            raise InvalidRequestError(f"{where}: {c.value!r} is not a version like 2.3.0")


def validate(spec: FlagSpec) -> FlagSpec:
    """Check a definition is consistent; return it (with a salt) or raise.

    Raises:
        InvalidRequestError: with a message naming the offending part.
    """
    check_key(spec.key)
    if not spec.variants:
        raise InvalidRequestError(f"flag {spec.key!r} needs at least one variant")
    keys = [v.key for v in spec.variants]
    if len(set(keys)) != len(keys):
        raise InvalidRequestError(f"flag {spec.key!r} has duplicate variant keys")
    for v in spec.variants:
        if not _type_ok(spec.type, v.value):
            raise InvalidRequestError(
                f"variant {v.key!r} of {spec.type} flag {spec.key!r} has a "
                f"{type(v.value).__name__} value {v.value!r}"
            )
        if v.weight < 0:
            raise InvalidRequestError(f"variant {v.key!r} has a negative weight")
    if sum(v.weight for v in spec.variants) <= 0:
        raise InvalidRequestError(f"flag {spec.key!r}: at least one variant weight must be > 0")
    spec.variant(spec.default_variant)
    spec.variant(spec.off_variant)
    for i, rule in enumerate(spec.rules, 1):
        where = f"flag {spec.key!r} rule {i}"
        if not 0 <= rule.rollout <= 100:
            raise InvalidRequestError(f"{where}: rollout must be between 0 and 100")
        if rule.variant is not None:
            spec.variant(rule.variant)
        for c in rule.conditions:
            _check_condition(where, c)
    if not spec.salt:
        spec.salt = spec.key
    return spec
