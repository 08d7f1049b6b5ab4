"""The reserved ``$crash`` and ``$error`` events: their fields, what counts as a crash,
and how the vendor protocols' equivalents map onto them
(docs/event_tracking_schema.md#crashes-and-errors, docs/integration_guide.md).

- ``$crash``: the app process died. Fatal unless ``properties.fatal`` is ``false``.
- ``$error``: an error the app survived. Fatal only when ``properties.fatal`` is ``true``
  (for SDKs that report every problem as one event with a flag).

Fields (all optional): ``type`` (exception class or signal), ``message``, ``fatal``
(boolean), ``stack_hash`` (a stable id of the stack, up to 64 characters; computed from
the frames when a vendor sends them), ``handled`` (boolean).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

__all__ = [
    "CRASH",
    "ERROR",
    "ISSUE_NAMES",
    "VENDOR_CRASH_NAMES",
    "VENDOR_ISSUE_NAMES",
    "check_issue_properties",
    "fatal_sql",
    "is_fatal",
    "map_vendor_issue",
    "stack_hash_of",
]

CRASH = "$crash"
ERROR = "$error"
ISSUE_NAMES = (CRASH, ERROR)
#: Track-event names other tools use for a crash, mapped to ``$crash`` on every vendor
#: protocol: Segment's Native Mobile Spec lifecycle event, and the automatic event of
#: Mixpanel's Android SDK (``$ae_crashed`` with ``$ae_crashed_reason``).
VENDOR_CRASH_NAMES = frozenset({"Application Crashed", "$ae_crashed"})
#: Every vendor event name :func:`map_vendor_issue` may map (a cheap first test).
VENDOR_ISSUE_NAMES = VENDOR_CRASH_NAMES | {"$exception"}
_STRINGS = {"type": 200, "message": 2000, "stack_hash": 64}


def is_fatal(name: str, properties: Mapping[str, Any]) -> bool:
    """Whether an issue event is a crash (see the module docstring)."""
    fatal = properties.get("fatal")
    if name == CRASH:
        return fatal is not False
    return name == ERROR and fatal is True


def fatal_sql(dialect: str) -> str:
    """SQL of :func:`is_fatal` over the ``events`` row (``name``, ``properties``)."""
    if dialect == "postgresql":
        flag = (
            "(CASE WHEN jsonb_typeof(properties->'fatal') = 'boolean' "
            "THEN properties->>'fatal' END)"
        )
    else:
        flag = "json_type(properties, '$.fatal')"
    return (
        f"((name = '{CRASH}' AND COALESCE({flag}, '') <> 'false') "
        f"OR (name = '{ERROR}' AND COALESCE({flag}, '') = 'true'))"
    )


def check_issue_properties(properties: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(field, message)`` for each reserved field of a ``$crash``/``$error`` event
    that has the wrong type or length; empty when they are fine."""
    problems = []
    for key in ("fatal", "handled"):
        if key in properties and not isinstance(properties[key], bool):
            problems.append((f"properties.{key}", "must be true or false"))
    for key, most in _STRINGS.items():
        value = properties.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            problems.append((f"properties.{key}", "must be a string"))
        elif len(value) > most:
            problems.append((f"properties.{key}", f"must be at most {most} characters"))
    return problems


def stack_hash_of(exc_type: str, frames: list[Any]) -> str:
    """A stable 16-hex-digit id of a stack: SHA-256 of the exception type and each
    frame's module, function and file (line numbers left out, so a rebuild that only
    moves lines keeps the id)."""
    h = hashlib.sha256(exc_type.encode())
    for frame in frames:
        if isinstance(frame, Mapping):
            parts = (frame.get("module"), frame.get("function"), frame.get("filename"))
            h.update(b"\n" + "|".join(str(p or "") for p in parts).encode())
    return h.hexdigest()[:16]


def _posthog(props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """PostHog ``$exception``: ``$exception_list`` (type, value, mechanism.handled,
    stacktrace.frames), ``$exception_level`` (``fatal`` for crashes),
    ``$exception_fingerprint``, and the older ``$exception_type``/``$exception_message``."""
    items = props.get("$exception_list")
    first: Mapping[str, Any] = {}
    if isinstance(items, list) and items and isinstance(items[0], Mapping):
        first = items[0]
    exc_type = str(first.get("type") or props.get("$exception_type") or "")
    message = str(first.get("value") or props.get("$exception_message") or "")
    fatal = props.get("$exception_level") == "fatal"
    out: dict[str, Any] = {"type": exc_type[:200], "message": message[:2000], "fatal": fatal}
    mechanism = first.get("mechanism")
    if isinstance(mechanism, Mapping) and isinstance(mechanism.get("handled"), bool):
        out["handled"] = mechanism["handled"]
    fingerprint = props.get("$exception_fingerprint")
    stack = first.get("stacktrace")
    frames = stack.get("frames") if isinstance(stack, Mapping) else None
    if isinstance(fingerprint, str) and fingerprint:
        out["stack_hash"] = fingerprint[:64]
    elif isinstance(frames, list) and frames:
        out["stack_hash"] = stack_hash_of(exc_type, frames)
    if isinstance(items, list):
        props["$exception_list"] = [_compact(e) for e in items[:10] if isinstance(e, Mapping)]
    return (CRASH if fatal else ERROR), out


def _frame_text(frame: Any) -> str:
    if not isinstance(frame, Mapping):
        return str(frame)[:300]
    where = frame.get("filename") or frame.get("abs_path") or ""
    line = f":{frame['lineno']}" if frame.get("lineno") is not None else ""
    module = f"{frame['module']}." if frame.get("module") else ""
    return f"{module}{frame.get('function') or '?'} ({where}{line})"[:300]


def _compact(exc: Mapping[str, Any]) -> dict[str, Any]:
    """One ``$exception_list`` entry with its frames as text lines: PostHog's nested
    frames (properties → list → exception → stacktrace → frames → frame → …) are
    deeper than ``limits.max_property_depth`` allows."""
    out = {k: v for k, v in exc.items() if k in ("type", "value", "module", "thread_id")}
    mechanism = exc.get("mechanism")
    if isinstance(mechanism, Mapping):
        out["mechanism"] = {k: v for k, v in mechanism.items() if not isinstance(v, dict | list)}
    stack = exc.get("stacktrace")
    frames = stack.get("frames") if isinstance(stack, Mapping) else None
    if isinstance(frames, list):
        out["frames"] = [_frame_text(f) for f in frames[-50:]]
    return out


def _reason(text: str) -> dict[str, Any]:
    """``java.lang.IllegalStateException: boom`` → type and message."""
    exc_type, sep, message = text.partition(": ")
    if not sep or " " in exc_type:
        return {"message": text[:2000]}
    return {"type": exc_type[:200], "message": message[:2000]}


def map_vendor_issue(
    source: str, name: str, properties: Mapping[str, Any]
) -> tuple[str, dict[str, Any]] | None:
    """The canonical ``(name, properties)`` of a vendor's crash or error event, or None
    when ``name`` is not one. The vendor's properties are kept; the reserved fields are
    added where the client did not set them, and ``$source_event`` keeps the original
    name."""
    props = dict(properties)
    if source == "posthog" and name == "$exception":
        canonical, fields = _posthog(props)
    elif name in VENDOR_CRASH_NAMES:
        canonical, fields = CRASH, {"fatal": True}
        reason = props.get("$ae_crashed_reason")
        if isinstance(reason, str) and reason:
            fields.update(_reason(reason))
    else:
        return None
    for key, value in fields.items():
        props.setdefault(key, value)
    props["$source_event"] = name
    return canonical, props
