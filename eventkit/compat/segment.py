"""Segment's HTTP Tracking API: batches and single calls into canonical events.

Mapping (docs/integration_guide.md, "Segment"): ``messageId`` is the event id (a UUID
derived from it when it is not one), ``originalTimestamp`` (else ``timestamp``) the
client time, ``sentAt`` the skew reference; ``identify`` becomes ``$identify`` with
its traits set on the profile, ``alias`` links ``previousId`` to ``userId``.
"""

from __future__ import annotations

from typing import Any

from eventkit.capture.validate import FieldError
from eventkit.compat.common import Draft, as_object, event_uuid, id_text, parse_time
from eventkit.config import deep_merge
from eventkit.errors import (
    AuthError,
    EventKitError,
    InvalidRequestError,
    OverloadedError,
    PayloadTooLargeError,
    StorageError,
)

__all__ = ["PATH_TYPES", "batch_messages", "draft", "error_body", "settings_body"]

SOURCE = "segment"

#: Single-call paths (and analytics.js one-letter forms) and the message type they imply.
PATH_TYPES: dict[str, str] = {
    "track": "track",
    "t": "track",
    "identify": "identify",
    "i": "identify",
    "page": "page",
    "p": "page",
    "screen": "screen",
    "s": "screen",
    "group": "group",
    "g": "group",
    "alias": "alias",
    "a": "alias",
}


def batch_messages(payload: Any) -> tuple[list[Any], dict[str, Any], Any]:
    """The messages of a batch body, its shared ``context`` and its ``sentAt``.

    Raises:
        InvalidRequestError: the body has no ``batch`` list.
    """
    if isinstance(payload, list):  # some proxies forward the bare array
        return payload, {}, None
    if not isinstance(payload, dict) or not isinstance(payload.get("batch"), list):
        raise InvalidRequestError('the body must be {"batch": [...]} (Segment batch format)')
    return payload["batch"], as_object(payload.get("context")), payload.get("sentAt")


def draft(msg: Any, kind: str | None, batch_context: dict[str, Any]) -> Draft | list[FieldError]:
    """One Segment message as a draft event, or the reasons it cannot be one."""
    if not isinstance(msg, dict):
        return [("", "must be a JSON object")]
    mtype = msg.get("type") if isinstance(msg.get("type"), str) else kind
    if mtype not in ("track", "identify", "page", "screen", "group", "alias"):
        return [("type", f"{mtype!r} is not track, identify, page, screen, group or alias")]
    errors: list[FieldError] = []
    try:
        ts = parse_time(msg.get("originalTimestamp") or msg.get("timestamp"))
    except ValueError as exc:
        errors.append(("timestamp", str(exc)))
        ts = None
    try:
        sent = parse_time(msg.get("sentAt"))
    except ValueError as exc:
        errors.append(("sentAt", str(exc)))
        sent = None
    user = id_text(msg.get("userId"))
    anon = id_text(msg.get("anonymousId"))
    props = dict(as_object(msg.get("properties")))
    traits = as_object(msg.get("traits"))
    name, link = "", None
    profile: tuple[dict[str, Any], dict[str, Any]] | None = None
    if mtype == "track":
        name = msg["event"] if isinstance(msg.get("event"), str) else ""
        if not name:
            errors.append(("event", "is required for track"))
    elif mtype == "screen":
        name = "$screen"
        if isinstance(msg.get("name"), str):
            props.setdefault("$screen_name", msg["name"])
    elif mtype == "page":
        name = "$pageview"
        if isinstance(msg.get("name"), str):
            props.setdefault("$page_name", msg["name"])
    elif mtype == "identify":
        name = "$identify"
        props = {"$set": traits, "$set_once": {}}
        profile, link = (traits, {}), anon
    elif mtype == "group":
        name = "$groupidentify"
        group = id_text(msg.get("groupId"))
        if group is None:
            errors.append(("groupId", "is required for group"))
        props = {"$group_type": "group", "$group_key": group, "$group_set": traits}
    else:  # alias
        name = "$create_alias"
        previous = id_text(msg.get("previousId"))
        if previous is None or user is None:
            errors.append(("previousId", "alias needs previousId and userId"))
        props = {"alias": previous}
        link = previous
    if errors:
        return errors
    context = deep_merge(batch_context, as_object(msg.get("context")))
    return Draft(
        name=name,
        event_id=event_uuid(msg.get("messageId"), SOURCE, msg),
        timestamp=ts,
        user_id=user,
        anonymous_id=anon,
        session_id=id_text(as_object(context.get("session")).get("id")),
        properties=props,
        context=context,
        sent_at=sent,
        profile=profile,
        link=link,
    )


def settings_body(write_key: str, api_host: str) -> dict[str, Any]:
    """``GET /v1/projects/{writeKey}/settings``: the settings analytics-kotlin/swift
    download at start; ``apiHost`` points their uploads back at eventkit."""
    return {
        "integrations": {
            "Segment.io": {
                "apiKey": write_key,
                "apiHost": api_host,
                "unbundledIntegrations": [],
                "addBundledMetadata": True,
                "maybeBundledConfigIds": {},
                "versionSettings": {"version": "4.4.7", "componentTypes": ["browser"]},
            }
        },
        "plan": {"track": {"__default": {"enabled": True}}},
        "edgeFunction": {},
        "analyticsNext": {},
        "middlewareSettings": {},
        "enabledMiddleware": {},
        "metrics": {"sampleRate": 0},
        "legacyVideoPluginsEnabled": False,
        "remotePlugins": [],
    }


def error_body(exc: EventKitError) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Status, body and headers of an error in the Tracking API's shape
    (``{"success": false, "code": ..., "message": ...}``; its clients read ``code`` and
    ``message``)."""
    headers: dict[str, str] = {}
    if isinstance(exc, OverloadedError):
        headers["Retry-After"] = str(exc.retry_after)
    elif isinstance(exc, StorageError):
        headers["Retry-After"] = "5"
    code = {
        AuthError: "unauthorized",
        PayloadTooLargeError: "payload_too_large",
        InvalidRequestError: "invalid_request",
    }
    name = next((c for t, c in code.items() if isinstance(exc, t)), exc.code)
    return exc.status_code, {"success": False, "code": name, "message": exc.message}, headers
