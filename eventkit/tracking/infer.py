"""Propose a tracking plan from the events already stored (``eventkit schema infer``).

For each event name, the newest ``sample`` events are read. A property becomes
``required`` when it occurs in every sampled event; its ``type`` is the set of JSON
types seen (integers seen next to non-integers widen to ``number``); string properties
with few distinct values get an ``enum`` only when asked. Names starting with ``$`` are
left out unless ``include_reserved``. The result is a starting point to review.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from eventkit.storage.errors import map_db_errors
from eventkit.storage.types import json_loads
from eventkit.tracking.plan import normalize_plan

__all__ = ["infer_plan"]


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _property_schema(
    types: Counter[str], values: Counter[str] | None, enum_max: int
) -> dict[str, Any]:
    names = set(types)
    if "integer" in names and "number" in names:
        names.discard("integer")
    ordered = sorted(names)
    schema: dict[str, Any] = {"type": ordered[0] if len(ordered) == 1 else ordered}
    if values is not None and names == {"string"} and 0 < len(values) <= enum_max:
        schema["enum"] = sorted(values)
    return schema


def _event_schema(samples: list[dict[str, Any]], enum_max: int) -> dict[str, Any]:
    types: dict[str, Counter[str]] = {}
    values: dict[str, Counter[str]] = {}
    present: Counter[str] = Counter()
    for props in samples:
        for key, value in props.items():
            present[key] += 1
            types.setdefault(key, Counter())[_json_type(value)] += 1
            if isinstance(value, str):
                values.setdefault(key, Counter())[value] += 1
    schema: dict[str, Any] = {"type": "object"}
    required = sorted(k for k, n in present.items() if n == len(samples))
    if required:
        schema["required"] = required
    schema["properties"] = {
        k: _property_schema(types[k], values.get(k) if enum_max else None, enum_max)
        for k in sorted(types)
    }
    schema["additionalProperties"] = False
    return schema


def infer_plan(
    engine: Engine,
    app_id: int,
    *,
    since: int | None = None,
    sample: int = 1000,
    include_reserved: bool = False,
    enum_max: int = 0,
) -> tuple[dict[str, Any], dict[str, int]]:
    """A plan proposal from stored events, and how many events of each name were read."""
    cond = "app_id = :a" + (" AND ts >= :since" if since is not None else "")
    params: dict[str, Any] = {"a": app_id, "since": since, "n": sample}
    with map_db_errors(), engine.connect() as conn:
        names = [
            str(n)
            for n in conn.execute(
                text(f"SELECT DISTINCT name FROM events WHERE {cond}"), params
            ).scalars()
        ]
        if not include_reserved:
            names = [n for n in names if not n.startswith("$")]
        samples: dict[str, list[dict[str, Any]]] = {}
        for name in sorted(names):
            rows = conn.execute(
                text(
                    f"SELECT properties FROM events WHERE {cond} AND name = :name "
                    "ORDER BY id DESC LIMIT :n"
                ),
                {**params, "name": name},
            ).scalars()
            samples[name] = [
                p if isinstance(p, dict) else json_loads(p) for p in rows if p is not None
            ]
    events = {
        name: {"schema": _event_schema(props, enum_max)} for name, props in samples.items() if props
    }
    plan = normalize_plan({"description": "inferred by eventkit schema infer", "events": events})
    return plan, {n: len(p) for n, p in samples.items()}
