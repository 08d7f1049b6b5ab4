"""Amplitude HTTP V2 (``/2/httpapi``) and Batch (``/batch``) APIs.

Amplitude's SDKs read the JSON ``code`` of every answer, so success and error bodies
follow Amplitude's documentation field by field: a batch with any invalid event is
refused as a whole with 400 and the indices of the bad events (the SDKs drop those and
resend the rest); 413 and 429 carry their documented bodies.
"""

from __future__ import annotations

from typing import Any

from eventkit.capture.validate import FieldError
from eventkit.compat.common import Draft, as_object, event_uuid, id_text, parse_time
from eventkit.errors import (
    AuthError,
    EventKitError,
    InvalidRequestError,
    OverloadedError,
    PayloadTooLargeError,
    StorageError,
)

__all__ = ["Problems", "draft", "error_body", "events_of", "success_body"]

SOURCE = "amplitude"
DEFAULT_MIN_ID_LENGTH = 5
#: The throttle threshold reported in 429 bodies (events per second per device/user).
EPS_THRESHOLD = 30

#: Top-level event fields copied into properties (revenue, groups).
_EXTRA = ("price", "quantity", "revenue", "productId", "revenueType", "groups", "plan")


class Problems:
    """Per-event problems in Amplitude's three index maps."""

    def __init__(self) -> None:
        self.missing: dict[str, list[int]] = {}
        self.invalid: dict[str, list[int]] = {}
        self.id_lengths: dict[str, list[int]] = {}

    def add(self, kind: dict[str, list[int]], field: str, index: int) -> None:
        kind.setdefault(field, []).append(index)

    def __bool__(self) -> bool:
        return bool(self.missing or self.invalid or self.id_lengths)

    def body(self) -> dict[str, Any]:
        """The documented 400 body for invalid events."""
        return {
            "code": 400,
            "error": "Request contains invalid events"
            if not self.missing
            else "Request missing required field on some events",
            "events_with_invalid_fields": self.invalid,
            "events_with_missing_fields": self.missing,
            "events_with_invalid_id_lengths": self.id_lengths,
            "silenced_devices": [],
            "silenced_events": [],
            "throttled_events": [],
        }


def events_of(payload: Any) -> tuple[str, list[Any], int]:
    """The API key, the events and the minimum id length of a request body.

    Raises:
        InvalidRequestError: a required top-level field is missing (the message names
            it; :func:`error_body` turns it into ``missing_field``).
    """
    if not isinstance(payload, dict):
        raise MissingField("api_key")
    key = payload.get("api_key")
    if not isinstance(key, str) or not key:
        raise MissingField("api_key")
    events = payload.get("events")
    if not isinstance(events, list) or not events:
        raise MissingField("events")
    min_len = as_object(payload.get("options")).get("min_id_length", DEFAULT_MIN_ID_LENGTH)
    if not isinstance(min_len, int) or isinstance(min_len, bool) or min_len < 1:
        min_len = DEFAULT_MIN_ID_LENGTH
    return key, events, min_len


class MissingField(InvalidRequestError):
    """A required top-level field of the request is missing."""

    def __init__(self, field: str) -> None:
        super().__init__(f"Request missing required field: {field}")
        self.field = field


def _context(ev: dict[str, Any]) -> dict[str, Any]:
    ctx: dict[str, Any] = {}
    pairs = {
        ("os", "name"): ev.get("os_name") or ev.get("platform"),
        ("os", "version"): ev.get("os_version"),
        ("app", "version"): ev.get("app_version"),
        ("device", "brand"): ev.get("device_brand"),
        ("device", "manufacturer"): ev.get("device_manufacturer"),
        ("device", "model"): ev.get("device_model"),
        ("device", "id"): ev.get("device_id"),
        ("network", "carrier"): ev.get("carrier"),
        ("location", "country"): ev.get("country"),
        ("location", "region"): ev.get("region"),
        ("location", "city"): ev.get("city"),
        ("location", "latitude"): ev.get("location_lat"),
        ("location", "longitude"): ev.get("location_lng"),
        ("library", "name"): ev.get("library"),
    }
    for (obj, name), value in pairs.items():
        if value is not None and not isinstance(value, dict | list):
            ctx.setdefault(obj, {})[name] = value
    if isinstance(ev.get("language"), str):
        ctx["locale"] = ev["language"]
    return ctx


def _profile(user_props: dict[str, Any], identify: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """``$set`` / ``$setOnce`` of Amplitude user-property operations; an identify
    without operators sets its properties directly."""
    if identify and user_props and not any(k.startswith("$") for k in user_props):
        return dict(user_props), {}
    return dict(as_object(user_props.get("$set"))), dict(as_object(user_props.get("$setOnce")))


def draft(i: int, ev: Any, min_len: int, problems: Problems) -> Draft | list[FieldError]:
    """One Amplitude event as a draft; its problems go into ``problems`` by index."""
    if not isinstance(ev, dict):
        problems.add(problems.invalid, "event", i)
        return [("", "must be a JSON object")]
    errors: list[FieldError] = []
    name = ev.get("event_type")
    if not isinstance(name, str) or not name:
        problems.add(problems.missing, "event_type", i)
        errors.append(("event_type", "is required"))
    user, device = id_text(ev.get("user_id")), id_text(ev.get("device_id"))
    groups = as_object(ev.get("groups"))
    if name == "$groupidentify" and user is None and device is None and groups:
        # Group updates have no person: the group stands in as the anonymous id.
        gtype, gname = next(iter(groups.items()))
        device = f"$group:{gtype}:{id_text(gname) or ''}"
        min_len = 1
    if user is None and device is None:
        problems.add(problems.missing, "user_id", i)
        errors.append(("user_id", "user_id or device_id is required"))
    for field, value in (("user_id", user), ("device_id", device)):
        if value is not None and len(value) < min_len:
            problems.add(problems.id_lengths, field, i)
            errors.append((field, f"is shorter than min_id_length ({min_len})"))
    try:
        ts = parse_time(ev.get("time"))
    except ValueError as exc:
        problems.add(problems.invalid, "time", i)
        errors.append(("time", str(exc)))
        ts = None
    for field in ("event_properties", "user_properties"):
        if ev.get(field) is not None and not isinstance(ev.get(field), dict):
            problems.add(problems.invalid, field, i)
            errors.append((field, "must be a JSON object"))
    if errors:
        return errors
    assert isinstance(name, str)
    props = dict(as_object(ev.get("event_properties")))
    for extra in _EXTRA:
        if ev.get(extra) is not None:
            props.setdefault(extra, ev[extra])
    user_props = as_object(ev.get("user_properties"))
    identify = name == "$identify"
    if user_props:
        props.setdefault("$user_properties", user_props)
    set_, set_once = _profile(user_props, identify)
    session = ev.get("session_id")
    sid = id_text(session) if isinstance(session, int | str) and session not in (-1, "-1") else None
    return Draft(
        name=name,
        event_id=event_uuid(ev.get("insert_id"), SOURCE, ev),
        timestamp=ts,
        user_id=user,
        anonymous_id=device,
        session_id=sid,
        properties=props,
        context=_context(ev),
        profile=(set_, set_once) if (set_ or set_once or identify) else None,
        link=device if identify else None,
    )


def success_body(ingested: int, size: int, now_ms: int) -> dict[str, Any]:
    """The documented 200 body."""
    return {
        "code": 200,
        "events_ingested": ingested,
        "payload_size_bytes": size,
        "server_upload_time": now_ms,
    }


def error_body(
    exc: EventKitError, events: list[Any] | None = None
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Status, documented body and headers of an error. A 429 lists every event of the
    request as throttled (with its device and user), so the SDK retries them all."""
    headers: dict[str, str] = {}
    if isinstance(exc, MissingField):
        return 400, {"code": 400, "error": exc.message, "missing_field": exc.field}, headers
    if isinstance(exc, PayloadTooLargeError):
        return 413, {"code": 413, "error": "Payload too large"}, headers
    if isinstance(exc, OverloadedError | StorageError):
        retry = exc.retry_after if isinstance(exc, OverloadedError) else 5
        headers["Retry-After"] = str(retry)
        if exc.status_code == 429:
            return 429, _throttled(events or []), headers
        return exc.status_code, {"code": exc.status_code, "error": exc.message}, headers
    if isinstance(exc, AuthError):
        return 400, {"code": 400, "error": f"Invalid API key: {exc.message}"}, headers
    return exc.status_code, {"code": exc.status_code, "error": exc.message}, headers


def _throttled(events: list[Any]) -> dict[str, Any]:
    devices: dict[str, int] = {}
    users: dict[str, int] = {}
    for ev in events:
        obj = as_object(ev)
        if (d := id_text(obj.get("device_id"))) is not None:
            devices[d] = EPS_THRESHOLD
        if (u := id_text(obj.get("user_id"))) is not None:
            users[u] = EPS_THRESHOLD
    return {
        "code": 429,
        "error": "Too many requests for some devices and users",
        "eps_threshold": EPS_THRESHOLD,
        "throttled_devices": devices,
        "throttled_users": users,
        "throttled_events": list(range(len(events))),
        "exceeded_daily_quota_devices": {},
        "exceeded_daily_quota_users": {},
    }
