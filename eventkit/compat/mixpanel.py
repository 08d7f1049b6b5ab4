"""Mixpanel ingestion: ``/track``, ``/engage``, ``/groups`` and ``/import``.

Bodies may be form-encoded ``data=`` (JSON or base64 JSON, one object or an array),
a JSON array/object, or NDJSON. ``$insert_id`` is the dedup key. Profile updates
(``/engage``) become ``$set`` events carrying the same profile operations as the native
identify, so a retried update changes nothing twice.
"""

from __future__ import annotations

from typing import Any

from eventkit.capture.validate import FieldError
from eventkit.compat.common import (
    Draft,
    as_object,
    context_from,
    event_uuid,
    form_data,
    id_text,
    json_body,
    maybe_base64_json,
    parse_time,
)
from eventkit.errors import (
    EventKitError,
    InvalidRequestError,
    OverloadedError,
    StorageError,
)

__all__ = ["error_body", "event_draft", "group_draft", "key_of", "messages", "profile_draft"]

SOURCE = "mixpanel"

_CONTEXT_FIELDS: dict[str, tuple[str, str]] = {
    "$os": ("os", "name"),
    "$os_version": ("os", "version"),
    "$app_version_string": ("app", "version"),
    "$app_build_number": ("app", "build"),
    "$app_release": ("app", "build"),
    "$model": ("device", "model"),
    "$manufacturer": ("device", "manufacturer"),
    "$brand": ("device", "brand"),
    "$carrier": ("network", "carrier"),
    "$wifi": ("network", "wifi"),
    "$screen_width": ("screen", "width"),
    "$screen_height": ("screen", "height"),
    "mp_lib": ("library", "name"),
    "$lib_version": ("library", "version"),
    "mp_country_code": ("location", "country"),
}


def messages(data: bytes) -> tuple[list[Any], dict[str, str]]:
    """The messages of a body and its form fields (``verbose``, ``strict``, ...).

    Raises:
        InvalidRequestError: the body is none of the accepted shapes.
    """
    form = form_data(data)
    if form is not None:
        if "data" not in form:
            raise InvalidRequestError("the form has no data field: send data=<JSON>")
        payload = maybe_base64_json(form["data"])
    else:
        text = data.strip()
        try:
            payload = json_body(text, "Mixpanel")
        except InvalidRequestError:
            lines = [ln for ln in text.split(b"\n") if ln.strip()]
            if text[:1] != b"{" or len(lines) < 2:
                raise
            payload = [json_body(ln, f"NDJSON line {i + 1}") for i, ln in enumerate(lines)]
        form = {}
    items = payload if isinstance(payload, list) else [payload]
    return items, form


def key_of(items: list[Any]) -> str | None:
    """The project token the first message carries."""
    first = as_object(items[0]) if items else {}
    for value in (
        as_object(first.get("properties")).get("token"),
        first.get("$token"),
        first.get("token"),
    ):
        if isinstance(value, str) and value:
            return value
    return None


def _who(distinct: str | None, props: dict[str, Any]) -> tuple[str | None, str | None]:
    """(user_id, anonymous_id): ``$user_id`` / ``$device_id`` of simplified ID merge;
    a ``$device:``-prefixed distinct_id (or one equal to ``$device_id``) is anonymous."""
    user = id_text(props.get("$user_id"))
    device = id_text(props.get("$device_id"))
    if distinct is not None and user is None:
        if distinct.startswith("$device:") or distinct == device:
            device = device or distinct.removeprefix("$device:")
        else:
            user = distinct
    return user, device


def event_draft(msg: Any) -> Draft | list[FieldError]:
    """A ``/track`` or ``/import`` event as a draft."""
    if not isinstance(msg, dict):
        return [("", "must be a JSON object")]
    name = msg.get("event")
    if not isinstance(name, str) or not name:
        return [("event", "is required (the event name)")]
    props = dict(as_object(msg.get("properties")))
    props.pop("token", None)
    try:
        ts = parse_time(props.get("time"), seconds_if_small=True)
    except ValueError as exc:
        return [("properties.time", str(exc))]
    distinct = id_text(props.get("distinct_id"))
    user, device = _who(distinct, props)
    link: str | None = None
    profile: tuple[dict[str, Any], dict[str, Any]] | None = None
    if name == "$identify":
        user = id_text(props.get("$identified_id")) or user
        link = id_text(props.get("$anon_id")) or device
        profile = ({}, {})
    elif name == "$create_alias":
        # alias(alias_id, original): the alias is the user's id for ``original``.
        alias = id_text(props.get("alias"))
        user, link = alias, distinct
        device = device or distinct
    return Draft(
        name=name,
        event_id=event_uuid(props.get("$insert_id"), SOURCE, msg),
        timestamp=ts,
        user_id=user,
        anonymous_id=device,
        session_id=id_text(props.get("$session_id")),
        properties=props,
        context=context_from(props, _CONTEXT_FIELDS),
        profile=profile,
        link=link,
    )


_PROFILE_OPS = ("$set", "$set_once", "$add", "$append", "$union", "$remove", "$unset", "$delete")


def profile_draft(msg: Any) -> Draft | list[FieldError]:
    """An ``/engage`` update as a ``$set`` event with its profile operations."""
    if not isinstance(msg, dict):
        return [("", "must be a JSON object")]
    distinct = id_text(msg.get("$distinct_id"))
    if distinct is None:
        return [("$distinct_id", "is required")]
    try:
        ts = parse_time(msg.get("$time"), seconds_if_small=True)
    except ValueError as exc:
        return [("$time", str(exc))]
    ops = {k: msg[k] for k in _PROFILE_OPS if k in msg}
    if not ops:
        return [("$set", "an update needs one of " + ", ".join(_PROFILE_OPS))]
    user, device = _who(distinct, {})
    set_, set_once = as_object(msg.get("$set")), as_object(msg.get("$set_once"))
    return Draft(
        name="$set",
        event_id=event_uuid(None, SOURCE, msg),
        timestamp=ts,
        user_id=user,
        anonymous_id=device,
        properties=ops,
        profile=(dict(set_), dict(set_once)) if user else None,
    )


def group_draft(msg: Any) -> Draft | list[FieldError]:
    """A ``/groups`` update as a ``$groupidentify`` event (no person: its anonymous id
    is ``$group:<group_key>:<group_id>``)."""
    if not isinstance(msg, dict):
        return [("", "must be a JSON object")]
    key, gid = id_text(msg.get("$group_key")), id_text(msg.get("$group_id"))
    if key is None or gid is None:
        return [("$group_key", "$group_key and $group_id are required")]
    ops = {k: msg[k] for k in _PROFILE_OPS if k in msg}
    return Draft(
        name="$groupidentify",
        event_id=event_uuid(None, SOURCE, msg),
        timestamp=None,
        user_id=None,
        anonymous_id=f"$group:{key}:{gid}",
        properties={"$group_type": key, "$group_key": gid, **ops},
    )


def error_body(
    exc: EventKitError, *, verbose: bool, imports: bool
) -> tuple[int, Any, dict[str, str]]:
    """Status, body and headers: ``/import``'s ``{code, error, status}``, or the
    verbose ``{status: 0, error}`` of the other endpoints (``0`` when not verbose)."""
    headers: dict[str, str] = {}
    if isinstance(exc, OverloadedError):
        headers["Retry-After"] = str(exc.retry_after)
    elif isinstance(exc, StorageError):
        headers["Retry-After"] = "5"
    status = exc.status_code
    if imports:
        text = {
            400: "Bad Request",
            401: "Unauthorized",
            403: "Forbidden",
            413: "Payload Too Large",
            429: "Rate limit exceeded",
        }.get(status, "Service Unavailable" if status >= 500 else "Error")
        return status, {"code": status, "error": exc.message, "status": text}, headers
    return status, ({"status": 0, "error": exc.message} if verbose else 0), headers
