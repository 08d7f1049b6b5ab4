"""A tracking plan compiled for the ingest path.

Each event's schema is compiled once with fastjsonschema (a generated Python function:
a valid event costs one call). Only an event that fails it is checked again with
``jsonschema``, which lists every problem; those become violations of one kind each:

- ``unplanned_event``: the name is not in the plan;
- ``missing_property``: a ``required`` property is absent;
- ``wrong_type``: a value has another JSON type than the schema's ``type``;
- ``unexpected_property``: a property the schema does not allow
  (``additionalProperties: false``);
- ``invalid_value``: any other keyword failed (``enum``, ``minimum``, ``pattern``, …).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import fastjsonschema
from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError

from eventkit.tracking.plan import Mode

__all__ = ["KINDS", "CompiledPlan", "Violation", "compile_plan"]

KINDS = (
    "unplanned_event",
    "missing_property",
    "wrong_type",
    "unexpected_property",
    "invalid_value",
)

_JSON_TYPES = (
    (bool, "boolean"),
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (list, "array"),
    (dict, "object"),
)


@dataclass(frozen=True)
class Violation:
    """One way one event broke the plan. ``property`` is a dotted path ('' for the event)."""

    kind: str
    property: str
    message: str

    def field_name(self) -> str:
        """The field a per-event error names (``name`` or ``properties.<path>``)."""
        return f"properties.{self.property}" if self.property else "name"


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    for cls, name in _JSON_TYPES:
        if isinstance(value, cls):
            return name
    return type(value).__name__


def _path(parts: Any, *extra: Any) -> str:
    out = []
    for p in [*parts, *extra]:
        if isinstance(p, int):
            out.append("[]")
        elif out:
            out.append(f".{p}")
        else:
            out.append(str(p))
    return "".join(out).replace(".[]", "[]")[:200]


def _explain(err: ValidationError) -> list[Violation]:
    where = list(err.absolute_path)
    inst = err.instance
    if err.validator == "required" and isinstance(inst, dict):
        return [
            Violation("missing_property", _path(where, k), "is required by the tracking plan")
            for k in cast(list[str], err.validator_value)
            if k not in inst
        ]
    if err.validator == "additionalProperties" and isinstance(inst, dict):
        schema = err.schema if isinstance(err.schema, dict) else {}
        known = set(schema.get("properties", {}))
        patterns = list(schema.get("patternProperties", {}))
        extra = [k for k in inst if k not in known and not any(re.search(p, k) for p in patterns)]
        return [
            Violation("unexpected_property", _path(where, k), "is not in the tracking plan")
            for k in extra
        ]
    if err.validator == "type":
        want = err.validator_value
        want_s = " or ".join(want) if isinstance(want, list) else str(want)
        return [Violation("wrong_type", _path(where), f"must be {want_s}, not {_type_name(inst)}")]
    # Name the rule, never the value: messages are stored as examples and the value
    # may be personal data.
    rule = json.dumps(err.validator_value, separators=(",", ":"), default=str)
    return [Violation("invalid_value", _path(where), f"fails {err.validator}: {rule}"[:300])]


@dataclass
class _Event:
    fast: Callable[[Any], Any] | None
    full: Draft7Validator | None


@dataclass
class CompiledPlan:
    """An app's mode and its plan's events, ready to check events against."""

    mode: Mode
    version: int = 0
    events: dict[str, _Event] = field(default_factory=dict)

    def check(self, name: str, properties: dict[str, Any]) -> list[Violation]:
        """Every violation of the plan by one event (empty when it conforms)."""
        spec = self.events.get(name)
        if spec is None:
            if name.startswith("$"):
                return []
            return [Violation("unplanned_event", "", f"event {name!r} is not in the tracking plan")]
        if spec.fast is None or spec.full is None:
            return []
        try:
            spec.fast(properties)
        except fastjsonschema.JsonSchemaException:
            pass
        else:
            return []
        out: list[Violation] = []
        for err in spec.full.iter_errors(properties):
            out.extend(_explain(err))
        return out or [Violation("invalid_value", "", "does not match the tracking plan")]


def compile_plan(plan: dict[str, Any] | None, mode: Mode, version: int = 0) -> CompiledPlan:
    """Compile a normalized plan (``None``: no plan, every non-``$`` event is unplanned)."""
    out = CompiledPlan(mode=mode, version=version)
    for name, spec in ((plan or {}).get("events") or {}).items():
        schema = spec.get("schema")
        if schema is None:
            out.events[name] = _Event(None, None)
        else:
            draft = {"$schema": "http://json-schema.org/draft-07/schema#", **schema}
            out.events[name] = _Event(fastjsonschema.compile(draft), Draft7Validator(schema))
    return out
