"""Text forms of flag parts, for the CLI: values, variants, conditions, contexts."""

from __future__ import annotations

import json
import shlex
from typing import Any

from eventkit.errors import InvalidRequestError
from eventkit.flags.spec import OPERATORS, Condition

__all__ = ["parse_assignment", "parse_condition", "parse_value"]

_LIST_OPS = {"in", "not_in"}


def parse_value(text: str) -> Any:
    """JSON when ``text`` is JSON (``true``, ``3``, ``{"a":1}``), else the string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_assignment(text: str, what: str) -> tuple[str, Any]:
    """``name=value`` into (name, parsed value)."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise InvalidRequestError(f"{what} {text!r} must look like NAME=VALUE")
    return name.strip(), parse_value(value)


def parse_condition(text: str) -> Condition:
    """``ATTRIBUTE OPERATOR [VALUE]``, e.g. ``app_version semver_gte 2.3.0`` or
    ``country in US,CA``; quote a value with spaces."""
    parts = shlex.split(text)
    if len(parts) < 2:
        raise InvalidRequestError(
            f"condition {text!r} must look like 'ATTRIBUTE OPERATOR VALUE' (e.g. 'platform eq ios')"
        )
    attribute, op, rest = parts[0], parts[1], " ".join(parts[2:])
    if op not in OPERATORS:
        raise InvalidRequestError(
            f"unknown operator {op!r} in {text!r}; use one of {', '.join(sorted(OPERATORS))}"
        )
    value: Any
    if op in ("is_set", "not_set"):
        value = None
    elif op in _LIST_OPS:
        value = [parse_value(v.strip()) for v in rest.split(",") if v.strip()]
    elif op.startswith("semver_") or op in ("starts_with", "ends_with", "regex", "contains"):
        value = rest
    else:
        value = parse_value(rest)
    return Condition(attribute=attribute, operator=op, value=value)
