"""The one step that turns a validated draft into a :class:`CanonicalEvent`.

Every protocol ends here: native batches (``check_event``), the vendor adapters
(``eventkit.compat.common.finish``) and ``POST /v1/identify``. It applies the limits,
the clock-skew correction and the ``context`` checks, and builds the canonical event,
so an event means the same thing whichever SDK sent it.

The common case (a valid event whose properties and context are still JSON text) is
decided with a few cheap predicates; anything else runs the detailed checks, which
name every problem field by field.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from eventkit.capture.context import ContextInfo, context_info
from eventkit.capture.issues import (
    ISSUE_NAMES,
    VENDOR_ISSUE_NAMES,
    check_issue_properties,
    map_vendor_issue,
)
from eventkit.capture.names import check_name
from eventkit.capture.schema import CanonicalEvent
from eventkit.capture.validate import (
    MIN_TIMESTAMP_US,
    NUL_ESCAPE,
    FieldError,
    check_properties,
    check_text_fields,
    check_time,
    corrected_time,
)
from eventkit.config import LimitSettings
from eventkit.timeutil import US_PER_SECOND

__all__ = ["Arrival", "Draft", "canonical_event", "check_ids", "context_checked"]

_ctx_cache: dict[tuple[bytes, int, int], ContextInfo] = {}


def context_checked(ctx: dict[str, Any] | msgspec.Raw, limits: LimitSettings) -> ContextInfo:
    """Limits and typed fields of a ``context``. JSON text is memoised on its bytes: a
    mobile batch repeats one device's context in every event."""
    if not isinstance(ctx, msgspec.Raw):
        errors = check_properties("context", ctx, limits)
        return ContextInfo(errors) if errors else context_info(ctx)
    text = bytes(ctx)
    key = (text, limits.max_properties_bytes, limits.max_property_depth)
    info = _ctx_cache.get(key)
    if info is None:
        if len(_ctx_cache) >= 4096:
            _ctx_cache.clear()
        errors = check_properties("context", ctx, limits)
        info = ContextInfo(errors) if errors else context_info(ctx)
        _ctx_cache[key] = info
    return info


def check_ids(
    name: str,
    user_id: str | None,
    anonymous_id: str | None,
    session_id: str | None,
    limits: LimitSettings,
    *,
    any_reserved: bool = False,
) -> list[FieldError]:
    """The name and id checks, each problem named by its canonical field.

    ``any_reserved`` accepts every ``$`` name (vendor protocols map their own reserved
    events, such as PostHog's ``$pageview``); the native API accepts only the
    documented ones.
    """
    errors: list[FieldError] = check_text_fields(
        (
            ("name", name),
            ("user_id", user_id),
            ("anonymous_id", anonymous_id),
            ("session_id", session_id),
        )
    )
    if not name:
        errors.append(("name", "must not be empty"))
    elif len(name) > limits.max_name_length:
        errors.append(
            (
                "name",
                f"is {len(name)} characters; the limit is {limits.max_name_length} "
                "(limits.max_name_length)",
            )
        )
    elif name[0] == "$" and not any_reserved and (why := check_name(name)):
        errors.append(("name", why))
    if not user_id and not anonymous_id:
        errors.append(("user_id", "either user_id or anonymous_id is required"))
    for field, value in (
        ("user_id", user_id),
        ("anonymous_id", anonymous_id),
        ("session_id", session_id),
    ):
        if value is not None and len(value) > limits.max_id_length:
            errors.append(
                (
                    field,
                    f"is {len(value)} characters; the limit is {limits.max_id_length} "
                    "(limits.max_id_length)",
                )
            )
    return errors


def _plainly_valid(
    name: str,
    uid: str | None,
    aid: str | None,
    sid: str | None,
    props: bytes,
    ts: int,
    received_at: int,
    limits: LimitSettings,
) -> bool:
    """The cheap predicates of the common case (no detailed check would object)."""
    max_id = limits.max_id_length
    return bool(
        0 < len(name) <= limits.max_name_length
        and name[0] != "$"
        and (uid or aid)
        and (uid is None or len(uid) <= max_id)
        and (aid is None or len(aid) <= max_id)
        and (sid is None or len(sid) <= max_id)
        and MIN_TIMESTAMP_US <= ts <= received_at + limits.max_future_seconds * US_PER_SECOND
        and not limits.max_past_days
        and props[:1] == b"{"
        and NUL_ESCAPE not in props
        and "\x00" not in name
        and (uid is None or "\x00" not in uid)
        and (aid is None or "\x00" not in aid)
        and (sid is None or "\x00" not in sid)
        and len(props) <= limits.max_properties_bytes
        and props.count(b"{") + props.count(b"[") <= limits.max_property_depth
    )


class Draft(msgspec.Struct, gc=False):
    """One event as a protocol decoded it, mapped onto the canonical fields but not
    yet validated.

    ``timestamp`` and ``sent_at`` are epoch microseconds from the device clock
    (``timestamp`` None: the time it arrived; ``sent_at`` None: the request's).
    ``profile`` is ``(set, set_once)`` for identify-like messages; ``link`` is the
    anonymous id an identify or alias links to ``user_id``.
    """

    name: str
    event_id: uuid.UUID
    timestamp: int | None
    user_id: str | None
    anonymous_id: str | None
    session_id: str | None = None
    properties: dict[str, Any] | msgspec.Raw = {}
    context: dict[str, Any] | msgspec.Raw = {}
    sent_at: int | None = None
    profile: tuple[dict[str, Any], dict[str, Any]] | None = None
    link: str | None = None


class Arrival(msgspec.Struct, frozen=True, gc=False):
    """What a request gives each of its events: the app, the protocol, when it arrived,
    when the device sent it, from where, and the limits that apply.

    ``any_reserved`` accepts every ``$`` name: vendor protocols map their own reserved
    events (PostHog's ``$pageview``) and eventkit writes ``$identify`` itself; the
    native API accepts only the documented ones.
    """

    app_id: int
    source: str
    received_at: int
    sent_at: int | None
    limits: LimitSettings
    ip: str | None
    any_reserved: bool = False


def _as_dict(props: dict[str, Any] | msgspec.Raw) -> dict[str, Any]:
    """Properties as a dict (decoding JSON text; only for the rare events that need it)."""
    if not isinstance(props, msgspec.Raw):
        return props
    try:
        value = msgspec.json.decode(props)
    except msgspec.DecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def canonical_event(draft: Draft, at: Arrival) -> CanonicalEvent | list[FieldError]:
    """The canonical event for a draft, or every problem it has (canonical field names).

    The event's time is corrected onto the server's clock with :func:`corrected_time`.
    Empty ids are stored as missing.
    """
    limits = at.limits
    client_ts = draft.timestamp if draft.timestamp is not None else at.received_at
    sent_at = draft.sent_at if draft.sent_at is not None else at.sent_at
    ts = corrected_time(client_ts, sent_at, at.received_at)
    ctx = context_checked(draft.context, limits)
    props = draft.properties
    name, uid, aid, sid = draft.name, draft.user_id, draft.anonymous_id, draft.session_id
    if name in VENDOR_ISSUE_NAMES and at.source != "native":  # PostHog $exception, …
        mapped = map_vendor_issue(at.source, name, _as_dict(props))
        if mapped is not None:
            name, props = mapped
    if (
        type(props) is not msgspec.Raw
        or ctx.errors
        or not _plainly_valid(name, uid, aid, sid, bytes(props), ts, at.received_at, limits)
    ):
        errors = check_ids(name, uid, aid, sid, limits, any_reserved=at.any_reserved)
        errors += check_time(ts, at.received_at, limits)
        errors += check_properties("properties", props, limits)
        if name in ISSUE_NAMES and at.source == "native" and not errors:
            errors += check_issue_properties(_as_dict(props))
        errors += ctx.errors
        if errors:
            return errors
    return CanonicalEvent(
        at.app_id,
        draft.event_id,
        name,
        client_ts,
        sent_at,
        at.received_at,
        ts,
        uid or None,
        aid or None,
        sid or None,
        ctx.platform,
        ctx.app_version,
        ctx.country,
        at.ip,
        at.source,
        props,
        draft.context,
    )
