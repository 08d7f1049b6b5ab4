"""The in-memory evaluator: flag definitions compiled once, evaluated many times.

``Evaluator(specs).evaluate(key, context)`` is what every interface calls: the HTTP
endpoints, OFREP, the CLI and server-side apps that fetched the definitions with
``GET /v1/flags/definitions`` (docs/feature_flags.md, "Evaluation").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from eventkit.flags.bucketing import bucket, pick
from eventkit.flags.conditions import Predicate, compile_condition
from eventkit.flags.spec import FlagSpec

__all__ = ["Evaluation", "Evaluator", "bucketing_id"]

# OpenFeature reasons and error codes.
STATIC, TARGETING_MATCH, SPLIT, DEFAULT, DISABLED, ERROR = (
    "STATIC",
    "TARGETING_MATCH",
    "SPLIT",
    "DEFAULT",
    "DISABLED",
    "ERROR",
)


class Evaluation(msgspec.Struct, gc=False):
    """The outcome of evaluating one flag for one context."""

    key: str
    value: Any
    variant: str | None
    reason: str
    error_code: str | None = None
    error_message: str | None = None
    rule: int | None = None


def bucketing_id(context: dict[str, Any], by: str) -> str | None:
    """The id a flag buckets on: user_id (or anonymous_id for ``device``), falling
    back to OpenFeature's ``targetingKey``."""
    primary = context.get("user_id" if by == "user" else "anonymous_id")
    if primary is None or primary == "":
        primary = context.get("targetingKey")
    return None if primary is None or primary == "" else str(primary)


class _Rule:
    __slots__ = ("conditions", "index", "rollout", "variant")

    def __init__(
        self, index: int, conditions: tuple[Predicate, ...], rollout: float, variant: int | None
    ) -> None:
        self.index = index
        self.conditions = conditions
        self.rollout = rollout
        self.variant = variant


class _Compiled:
    """One flag, ready to evaluate."""

    __slots__ = (
        "by",
        "cumulative",
        "default",
        "enabled",
        "key",
        "off",
        "rules",
        "salt",
        "single",
        "spec",
        "variants",
    )

    def __init__(self, spec: FlagSpec, cohorts: Mapping[str, frozenset[str]] | None = None) -> None:
        self.spec = spec
        self.key = spec.key
        self.salt = spec.salt or spec.key
        self.by = spec.bucket_by
        self.enabled = spec.enabled
        self.variants = tuple((v.key, v.value) for v in spec.variants)
        index = {v.key: i for i, v in enumerate(spec.variants)}
        total = sum(v.weight for v in spec.variants)
        acc, edges = 0.0, []
        for v in spec.variants:
            acc += v.weight
            edges.append(acc / total)
        self.cumulative = tuple(edges)
        weighted = [i for i, v in enumerate(spec.variants) if v.weight > 0]
        # With one weighted variant there is nothing to split: no hash needed.
        self.single = weighted[0] if len(weighted) == 1 else None
        self.default = index[spec.default_variant]
        self.off = index[spec.off_variant]
        self.rules = tuple(
            _Rule(
                i,
                tuple(compile_condition(c, cohorts) for c in r.conditions),
                r.rollout,
                index[r.variant] if r.variant is not None else self.single,
            )
            for i, r in enumerate(spec.rules, 1)
        )

    def _result(self, i: int, reason: str, rule: int | None = None) -> Evaluation:
        k, v = self.variants[i]
        return Evaluation(self.key, v, k, reason, rule=rule)

    def _missing_id(self) -> Evaluation:
        k, v = self.variants[self.default]
        what = "user_id" if self.by == "user" else "anonymous_id"
        return Evaluation(
            self.key,
            v,
            k,
            ERROR,
            "TARGETING_KEY_MISSING",
            f"flag {self.key!r} buckets by {what}; send it (or targetingKey) in the context",
        )

    def evaluate(self, ctx: dict[str, Any]) -> Evaluation:
        if not self.enabled:
            return self._result(self.off, DISABLED)
        if not self.rules:
            # Enabled and no rule narrows it down: everyone gets the flag, as in
            # LaunchDarkly, Unleash, PostHog and flagd (a boolean serves true).
            if self.single is not None:
                return self._result(self.single, STATIC)
            who = bucketing_id(ctx, self.by)
            if who is None:
                return self._missing_id()
            return self._result(
                pick(bucket(self.salt, self.key, "variant", who), self.cumulative), SPLIT
            )
        uid: str | None = None
        for rule in self.rules:
            for cond in rule.conditions:
                if not cond(ctx):
                    break
            else:
                if rule.rollout < 100 or rule.variant is None:
                    uid = uid or bucketing_id(ctx, self.by)
                    if uid is None:
                        return self._missing_id()
                if (
                    rule.rollout < 100
                    and bucket(self.salt, self.key, "rollout", uid or "") * (100) >= rule.rollout
                ):
                    continue
                if rule.variant is not None:
                    return self._result(rule.variant, TARGETING_MATCH, rule.index)
                i = pick(bucket(self.salt, self.key, "variant", uid or ""), self.cumulative)
                return self._result(i, SPLIT, rule.index)
        return self._result(self.default, DEFAULT)


class Evaluator:
    """Compiled flags of one app. Archived flags are left out (they are not found)."""

    def __init__(
        self, specs: Iterable[FlagSpec], version: int = 0,
        cohorts: Mapping[str, frozenset[str]] | None = None,
    ) -> None:  # fmt: skip
        """``cohorts``: the members of the cohorts the flags target (``in_cohort``)."""
        self.version = version
        self._flags = {s.key: _Compiled(s, cohorts) for s in specs if not s.archived}
        self._ordered = tuple(self._flags[k] for k in sorted(self._flags))

    @property
    def keys(self) -> list[str]:
        """Keys of the live (not archived) flags, sorted."""
        return sorted(self._flags)

    def spec(self, key: str) -> FlagSpec | None:
        """The definition of a live flag, or None."""
        c = self._flags.get(key)
        return c.spec if c is not None else None

    def evaluate(self, key: str, context: dict[str, Any]) -> Evaluation:
        """Evaluate one flag; an unknown key gives reason ERROR, code FLAG_NOT_FOUND."""
        c = self._flags.get(key)
        if c is None:
            return Evaluation(
                key, None, None, ERROR, "FLAG_NOT_FOUND", f"no flag {key!r} in this app"
            )
        return c.evaluate(context)

    def evaluate_all(self, context: dict[str, Any]) -> list[Evaluation]:
        """Evaluate every live flag, in key order."""
        return [c.evaluate(context) for c in self._ordered]
