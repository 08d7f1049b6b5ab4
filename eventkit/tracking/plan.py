"""The tracking plan document: parse, check, normalize, print and compare.

A plan is YAML (or JSON) of this shape (docs/tracking_plan.md)::

    description: Checkout app events
    events:
      purchase_completed:
        description: A purchase went through
        schema:                 # JSON Schema (draft-07) of the event's properties
          type: object
          required: [price, currency]
          properties:
            price: {type: number, minimum: 0}
            currency: {type: string, enum: [EUR, USD]}
          additionalProperties: false
      app_open: {}              # planned, any properties

Names starting with ``$`` (eventkit's and SDKs' own events) are always allowed unless
the plan lists them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

import yaml
from jsonschema import Draft7Validator
from jsonschema.exceptions import SchemaError

from eventkit.errors import InvalidRequestError

__all__ = ["MODES", "Mode", "PlanDiff", "diff_plans", "dump_plan", "normalize_plan", "parse_plan"]

Mode = Literal["off", "warn", "enforce"]
MODES: tuple[Mode, ...] = ("off", "warn", "enforce")

_TOP = {"description", "events"}
_EVENT = {"description", "schema"}


def parse_plan(text: str, source: str = "the plan") -> dict[str, Any]:
    """Parse plan text (YAML or JSON) and return the normalized plan.

    Raises:
        InvalidRequestError: not YAML, or not a valid plan (the message says where).
    """
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidRequestError(f"{source} is not valid YAML: {exc}") from None
    return normalize_plan(doc, source)


def _fail(source: str, where: str, what: str) -> InvalidRequestError:
    return InvalidRequestError(f"{source}: {where} {what} (docs/tracking_plan.md)")


def _event(name: Any, spec: Any, source: str) -> dict[str, Any]:
    if not isinstance(name, str) or not name or len(name) > 200:
        raise _fail(source, f"event name {name!r}", "must be a string of 1-200 characters")
    if spec is None:
        spec = {}
    if not isinstance(spec, dict):
        raise _fail(source, f"events.{name}", "must be a mapping with `schema` (or {})")
    unknown = set(spec) - _EVENT
    if unknown:
        raise _fail(source, f"events.{name}", f"has unknown keys {sorted(unknown)}")
    out: dict[str, Any] = {}
    if spec.get("description") is not None:
        out["description"] = str(spec["description"])
    schema = spec.get("schema")
    if schema is not None:
        if not isinstance(schema, dict):
            raise _fail(source, f"events.{name}.schema", "must be a JSON Schema object")
        try:
            Draft7Validator.check_schema(schema)
        except SchemaError as exc:
            path = ".".join(str(p) for p in exc.path)
            raise _fail(
                source,
                f"events.{name}.schema{'.' + path if path else ''}",
                f"is invalid: {exc.message}",
            ) from None
        out["schema"] = json.loads(json.dumps(schema))  # plain JSON types only
    return out


def normalize_plan(doc: Any, source: str = "the plan") -> dict[str, Any]:
    """Check a parsed plan and return it with events sorted by name.

    Raises:
        InvalidRequestError: the document is not a plan.
    """
    if not isinstance(doc, dict) or "events" not in doc:
        raise _fail(source, "the document", "must be a mapping with an `events` mapping")
    unknown = set(doc) - _TOP
    if unknown:
        raise _fail(source, "the document", f"has unknown keys {sorted(unknown)}")
    events = doc["events"] or {}
    if not isinstance(events, dict):
        raise _fail(source, "`events`", "must map event names to their specs")
    out: dict[str, Any] = {}
    if doc.get("description") is not None:
        out["description"] = str(doc["description"])
    out["events"] = {n: _event(n, events[n], source) for n in sorted(events, key=str)}
    return out


def dump_plan(plan: dict[str, Any]) -> str:
    """The plan as YAML (what ``schema pull`` prints and ``schema push`` reads)."""
    return yaml.safe_dump(plan, sort_keys=False, allow_unicode=True, width=88)


@dataclass(frozen=True)
class PlanDiff:
    """Event names added, removed and changed from one plan to another."""

    added: list[str]
    removed: list[str]
    changed: list[str]

    @property
    def empty(self) -> bool:
        """True when the plans plan the same events with the same schemas."""
        return not (self.added or self.removed or self.changed)

    def rows(self) -> list[dict[str, str]]:
        """One row per difference: ``{"event": name, "change": added|removed|changed}``."""
        out = [{"event": n, "change": "added"} for n in self.added]
        out += [{"event": n, "change": "removed"} for n in self.removed]
        out += [{"event": n, "change": "changed"} for n in self.changed]
        return sorted(out, key=lambda r: r["event"])


def diff_plans(old: dict[str, Any] | None, new: dict[str, Any]) -> PlanDiff:
    """What applying ``new`` over ``old`` changes (a missing ``old`` is empty)."""
    a = (old or {}).get("events", {})
    b = new.get("events", {})
    return PlanDiff(
        added=sorted(set(b) - set(a)),
        removed=sorted(set(a) - set(b)),
        changed=sorted(n for n in set(a) & set(b) if a[n] != b[n]),
    )
