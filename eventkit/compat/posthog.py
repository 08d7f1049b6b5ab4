"""PostHog capture and flags: event bodies into canonical events, evaluations into
``/flags`` and ``/decide`` answers, flag definitions into local-evaluation documents.

Mapping (docs/integration_guide.md, "PostHog"): ``uuid`` is the event id (older
clients send none: one is derived from the event's content, so a retry deduplicates),
``distinct_id`` is the user id unless the event says it is anonymous
(``$is_identified: false`` or ``distinct_id == $device_id``); ``$identify``,
``$set``, ``$create_alias`` update profiles like the native identify.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from eventkit.capture.validate import FieldError
from eventkit.compat.common import (
    Draft,
    as_object,
    context_from,
    event_uuid,
    id_text,
    parse_time,
)
from eventkit.errors import (
    AuthError,
    EventKitError,
    InvalidRequestError,
    OverloadedError,
    PayloadTooLargeError,
    PermissionDeniedError,
    StorageError,
)
from eventkit.flags.evaluator import DISABLED, ERROR, Evaluation
from eventkit.flags.spec import FlagSpec

__all__ = [
    "batch_of",
    "decide_body",
    "draft",
    "error_body",
    "evaluation_context",
    "local_definitions",
]

SOURCE = "posthog"

#: PostHog property -> (context object, field) it is mirrored into.
_CONTEXT_FIELDS: dict[str, tuple[str, str]] = {
    "$os": ("os", "name"),
    "$os_name": ("os", "name"),
    "$os_version": ("os", "version"),
    "$app_version": ("app", "version"),
    "$app_build": ("app", "build"),
    "$app_name": ("app", "name"),
    "$app_namespace": ("app", "namespace"),
    "$device_model": ("device", "model"),
    "$device_manufacturer": ("device", "manufacturer"),
    "$device_type": ("device", "type"),
    "$device_name": ("device", "name"),
    "$lib": ("library", "name"),
    "$lib_version": ("library", "version"),
    "$screen_width": ("screen", "width"),
    "$screen_height": ("screen", "height"),
    "$network_carrier": ("network", "carrier"),
    "$network_wifi": ("network", "wifi"),
    "$network_cellular": ("network", "cellular"),
    "$geoip_country_code": ("location", "country"),
}
#: Events whose names eventkit writes itself: kept under a vendor name so they do not
#: count as eventkit's own (flag exposures come from the server's evaluation).
_RENAMED = {"$feature_flag_called": "$posthog_feature_flag_called"}


def batch_of(payload: Any) -> tuple[list[Any], Any, str | None]:
    """The events of any PostHog capture body, its ``sent_at``, and the key it carries.

    Accepts ``{"batch": [...]}``, a single event object, or a bare array of events.

    Raises:
        InvalidRequestError: none of these shapes.
    """
    if isinstance(payload, list):
        first = as_object(payload[0]) if payload else {}
        return payload, None, _key_of(first) or _key_of(as_object(first.get("properties")))
    if not isinstance(payload, dict):
        raise InvalidRequestError('the body must be an event, a list of events or {"batch": [...]}')
    key = _key_of(payload)
    if isinstance(payload.get("batch"), list):
        sent = payload.get("sent_at") or payload.get("created_at")
        events = payload["batch"]
        if key is None and events:
            first = as_object(events[0])
            key = _key_of(first) or _key_of(as_object(first.get("properties")))
        return events, sent, key
    if "event" in payload:
        key = key or _key_of(as_object(payload.get("properties")))
        return [payload], payload.get("sent_at"), key
    raise InvalidRequestError('the body must be an event, a list of events or {"batch": [...]}')


def _key_of(obj: dict[str, Any]) -> str | None:
    for name in ("api_key", "token", "$token"):
        value = obj.get(name)
        if isinstance(value, str) and value:
            return value
    return None


def _context(props: dict[str, Any]) -> dict[str, Any]:
    ctx = context_from(props, _CONTEXT_FIELDS)
    for prop, name in (("$locale", "locale"), ("$timezone", "timezone")):
        if isinstance(props.get(prop), str):
            ctx[name] = props[prop]
    return ctx


def _who(name: str, distinct: str, props: dict[str, Any]) -> tuple[str | None, str | None]:
    """(user_id, anonymous_id) of an event from its ``distinct_id``."""
    device = id_text(props.get("$device_id"))
    anon_prev = id_text(props.get("$anon_distinct_id"))
    if name == "$identify":
        return distinct, anon_prev or (device if device != distinct else None)
    if props.get("$is_identified") is False or distinct in (device, anon_prev):
        return None, distinct
    return distinct, device if device != distinct else None


def draft(ev: Any, default_key_time: int) -> Draft | list[FieldError]:
    """One PostHog event as a draft, or the reasons it cannot be one.

    ``default_key_time`` is the receive time, used for events that give an ``offset``
    (milliseconds before sending) instead of a timestamp.
    """
    if not isinstance(ev, dict):
        return [("", "must be a JSON object")]
    props = dict(as_object(ev.get("properties")))
    name = ev.get("event")
    if not isinstance(name, str) or not name:
        return [("event", "is required (the event name)")]
    name = _RENAMED.get(name, name)
    distinct = id_text(ev.get("distinct_id")) or id_text(props.get("distinct_id"))
    if distinct is None:
        return [("distinct_id", "is required")]
    errors: list[FieldError] = []
    try:
        ts = parse_time(ev.get("timestamp"))
    except ValueError as exc:
        errors.append(("timestamp", str(exc)))
        ts = None
    offset = ev.get("offset")
    if ts is None and isinstance(offset, int | float) and not isinstance(offset, bool):
        ts = default_key_time - int(offset * 1000)
    if errors:
        return errors
    for top in ("$set", "$set_once"):  # legacy top-level forms
        if isinstance(ev.get(top), dict):
            props.setdefault(top, ev[top])
    user, anon = _who(name, distinct, props)
    set_ = as_object(props.get("$set"))
    set_once = as_object(props.get("$set_once"))
    link = anon if name == "$identify" else None
    if name == "$create_alias":
        link = id_text(props.get("alias"))
        user = user or distinct
    profile = (set_, set_once) if (set_ or set_once or name == "$identify") else None
    session = id_text(ev.get("session_id")) or id_text(props.get("$session_id"))
    return Draft(
        name=name,
        event_id=event_uuid(ev.get("uuid"), SOURCE, ev),
        timestamp=ts,
        user_id=user,
        anonymous_id=anon,
        session_id=session,
        properties=props,
        context=_context(props),
        profile=profile,
        link=link,
    )


def skip_skew(ev: Any) -> bool:
    """True when the event asks not to be clock-corrected (``$ignore_sent_at`` or v1
    ``options.disable_skew_correction``)."""
    if not isinstance(ev, dict):
        return False
    props = as_object(ev.get("properties"))
    return (
        props.get("$ignore_sent_at") is True
        or as_object(ev.get("options")).get("disable_skew_correction") is True
    )


# -- flags ------------------------------------------------------------------------------


def evaluation_context(body: dict[str, Any]) -> dict[str, Any]:
    """The evaluator's context for a ``/flags`` or ``/decide`` request body."""
    ctx: dict[str, Any] = dict(as_object(body.get("person_properties")))
    distinct = id_text(body.get("distinct_id"))
    device = id_text(body.get("device_id")) or id_text(body.get("$device_id"))
    anon = id_text(body.get("$anon_distinct_id")) or device
    if distinct is not None:
        ctx["user_id"] = distinct
        ctx.setdefault("targetingKey", distinct)
    if anon is not None or distinct is not None:
        ctx["anonymous_id"] = anon or distinct
    return ctx


_REASONS = {
    "TARGETING_MATCH": ("condition_match", "Matched conditions set"),
    "SPLIT": ("condition_match", "Matched conditions set (rollout split)"),
    "STATIC": ("condition_match", "Matched with no conditions"),
    "DEFAULT": ("no_condition_match", "No matching condition set"),
    DISABLED: ("disabled", "Flag is disabled"),
    ERROR: ("error", "Could not evaluate"),
}


def _posthog_value(ev: Evaluation) -> tuple[bool, str | None, str | None]:
    """(enabled, variant, payload JSON) of an evaluation in PostHog's terms: a boolean
    value is the flag state; any other value is served as the variant with the value
    as its payload."""
    if ev.error_code is not None or ev.reason == DISABLED:
        return False, None, None
    if isinstance(ev.value, bool):
        return ev.value, None, None
    payload = None if ev.value is None else json.dumps(ev.value)
    return True, ev.variant, payload


def decide_body(evals: list[Evaluation], version: int) -> dict[str, Any]:
    """The ``/flags`` (v2-v4) and ``/decide`` (v3) answer: ``flags`` records and the
    legacy ``featureFlags`` / ``featureFlagPayloads`` maps in one body."""
    flags: dict[str, Any] = {}
    legacy: dict[str, Any] = {}
    payloads: dict[str, str] = {}
    errors = False
    for i, ev in enumerate(evals, 1):
        enabled, variant, payload = _posthog_value(ev)
        errors = errors or ev.error_code is not None
        code, description = _REASONS.get(ev.reason, ("unknown", ev.reason))
        flags[ev.key] = {
            "key": ev.key,
            "enabled": enabled,
            "variant": variant,
            "reason": {
                "code": code,
                "condition_index": (ev.rule - 1) if ev.rule else None,
                "description": ev.error_message or description,
            },
            "metadata": {"id": i, "version": version, "payload": payload, "description": None},
        }
        legacy[ev.key] = variant if (enabled and variant is not None) else enabled
        if payload is not None and enabled:
            payloads[ev.key] = payload
    return {
        "flags": flags,
        "featureFlags": legacy,
        "featureFlagPayloads": payloads,
        "errorsWhileComputingFlags": errors,
        "requestId": str(uuid.uuid4()),
        "quotaLimited": [],
        "config": {"enable_collect_everything": False},
        "sessionRecording": False,
        "supportedCompression": ["gzip", "gzip-js"],
    }


def _local_flag(i: int, spec: FlagSpec) -> dict[str, Any]:
    """One flag in PostHog's local-evaluation format.

    A flag without rules that is disabled, or enabled with one weighted variant,
    serves one value to everyone, which PostHog's evaluator can compute exactly. Any
    other flag (rules, or a split) is sent with ``ensure_experience_continuity`` so
    PostHog's SDKs do not evaluate it locally with their own hashing (which would
    bucket users differently) and ask ``/flags`` instead.
    """
    weighted = [v for v in spec.variants if v.weight > 0]
    everyone = spec.enabled and not spec.rules and len(weighted) == 1
    exact = not spec.rules and (not spec.enabled or everyone)
    if not spec.enabled:
        served = spec.variant(spec.off_variant)
    else:
        served = weighted[0] if everyone else spec.variant(spec.default_variant)
    flag: dict[str, Any] = {
        "id": i,
        "key": spec.key,
        "name": spec.description,
        "active": spec.enabled,
        "deleted": False,
        "ensure_experience_continuity": not exact,
        "filters": {"groups": [{"properties": [], "rollout_percentage": 100}]},
    }
    if isinstance(served.value, bool):
        flag["filters"]["groups"][0]["rollout_percentage"] = 100 if served.value else 0
    elif exact:
        flag["filters"]["multivariate"] = {
            "variants": [{"key": served.key, "rollout_percentage": 100}]
        }
        flag["filters"]["payloads"] = {served.key: json.dumps(served.value)}
    return flag


def local_definitions(specs: list[FlagSpec]) -> dict[str, Any]:
    """``/flags/definitions`` and ``/api/feature_flag/local_evaluation``."""
    return {
        "flags": [_local_flag(i, s) for i, s in enumerate(specs, 1)],
        "group_type_mapping": {},
        "cohorts": {},
    }


def error_body(exc: EventKitError) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Status, body and headers in PostHog's error shape
    (``{"type", "code", "detail", "attr"}``; its SDKs read ``detail``)."""
    headers: dict[str, str] = {}
    if isinstance(exc, OverloadedError):
        headers["Retry-After"] = str(exc.retry_after)
        kind, code = "throttled", "throttled"
    elif isinstance(exc, StorageError):
        headers["Retry-After"] = "5"
        kind, code = "server_error", "unavailable"
    elif isinstance(exc, PermissionDeniedError):
        kind, code = "authentication_error", "permission_denied"
    elif isinstance(exc, AuthError):
        kind, code = "authentication_error", "invalid_api_key"
    elif isinstance(exc, PayloadTooLargeError):
        kind, code = "validation_error", "payload_too_large"
    elif isinstance(exc, InvalidRequestError):
        kind, code = "validation_error", "invalid_payload"
    else:
        kind, code = "validation_error" if exc.status_code < 500 else "server_error", exc.code
    body = {"type": kind, "code": code, "detail": exc.message, "attr": None}
    return exc.status_code, body, headers
