"""What every vendor adapter shares: turning drafts into canonical events, ids,
timestamps and request bodies.

A vendor decoder turns one message of its wire format into a
:class:`~eventkit.capture.canonical.Draft` (or field errors); :func:`finish` builds the
canonical events with the native API's limits and clock-skew correction and returns
what :meth:`CaptureService.store` takes. Decoders never raise on odd JSON: anything
that is not the expected shape becomes a field error of that message.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import msgspec

from eventkit.capture.canonical import Arrival, Draft, canonical_event
from eventkit.capture.decode import decode_body
from eventkit.capture.schema import CanonicalEvent
from eventkit.capture.validate import FieldError
from eventkit.config import LimitSettings
from eventkit.errors import InvalidRequestError
from eventkit.ingest.verdicts import FieldReason, Rejection
from eventkit.storage.users import ProfileOp

__all__ = [
    "Decoded",
    "Draft",
    "context_from",
    "event_uuid",
    "finish",
    "id_text",
    "json_body",
    "parse_time",
    "read_body",
]

#: Namespace of event ids derived from a vendor's non-UUID message id or content.
COMPAT_NAMESPACE = uuid.UUID("3f1d2a9c-6b0e-4c57-8d21-5e7a9b4c2f60")

_any = msgspec.json.Decoder()
_encoder = msgspec.json.Encoder()


@dataclass
class Decoded:
    """A request's verdict before storage: accepted events, rejections and the
    profile operations of the accepted identify-like events."""

    accepted: list[CanonicalEvent] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    ops: list[ProfileOp] = field(default_factory=list)
    #: Request index of each accepted event.
    positions: list[int] = field(default_factory=list)


def id_text(value: Any) -> str | None:
    """A vendor id as text: strings as-is, numbers as their decimal form, else None."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return str(int(value)) if float(value).is_integer() else str(value)
    return None


def event_uuid(value: Any, source: str, fallback: Any) -> uuid.UUID:
    """The event id: the vendor's id when it is a UUID, a UUID derived from it when it
    is not (``insert_id``, ``$insert_id``), or one derived from ``fallback`` (the
    message content) when there is none, so a retried message deduplicates."""
    if isinstance(value, str) and value:
        try:
            return uuid.UUID(value)
        except ValueError:
            return uuid.uuid5(COMPAT_NAMESPACE, f"{source}:{value}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return uuid.uuid5(COMPAT_NAMESPACE, f"{source}:{value}")
    try:
        text = json.dumps(fallback, sort_keys=True, default=str)
    except (TypeError, ValueError):
        text = repr(fallback)
    return uuid.uuid5(COMPAT_NAMESPACE, f"{source}:content:{text}")


def parse_time(value: Any, *, seconds_if_small: bool = False) -> int | None:
    """Epoch microseconds of an ISO 8601 string or an epoch number (milliseconds; with
    ``seconds_if_small``, numbers below 1e11 are seconds, as Mixpanel sends them).

    Raises:
        ValueError: the value is neither.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("is a boolean, not a time")
    if isinstance(value, int | float):
        if value != value or abs(value) > 1e16:  # NaN or absurd
            raise ValueError("is not a valid epoch time")
        if seconds_if_small and abs(value) < 1e11:
            return int(value * 1_000_000)
        return int(value * 1000)
    if isinstance(value, str):
        text = value.strip()
        try:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            try:
                return parse_time(float(text), seconds_if_small=seconds_if_small)
            except ValueError:
                raise ValueError(f"{value!r} is not ISO 8601 nor an epoch number") from None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        try:
            return int(dt.timestamp() * 1_000_000)
        except (OverflowError, OSError):
            raise ValueError(f"{value!r} is out of range") from None
    raise ValueError(f"must be a time, got {type(value).__name__}")


def read_body(body: bytes, content_encoding: str | None, limits: LimitSettings) -> bytes:
    """Undo gzip/deflate (same size cap as the native API)."""
    return decode_body(body, content_encoding, limits.max_body_bytes)


def json_body(data: bytes, what: str) -> Any:
    """Parse a JSON body (any Content-Type: mobile SDKs send ``text/plain``)."""
    if not data.strip():
        raise InvalidRequestError(f"the {what} body is empty; send JSON")
    try:
        return _any.decode(data)
    except msgspec.DecodeError as exc:
        raise InvalidRequestError(f"the {what} body is not valid JSON: {exc}") from None


def form_data(data: bytes) -> dict[str, str] | None:
    """The fields of a form-encoded body, or None when the body is not a form."""
    stripped = data.lstrip()
    if not stripped or stripped[:1] in (b"{", b"["):
        return None
    try:
        fields = parse_qs(data.decode(), keep_blank_values=True)
    except UnicodeDecodeError:
        return None
    return {k: v[-1] for k, v in fields.items()} or None


def maybe_base64_json(text: str) -> Any:
    """A ``data=`` form value: JSON, or base64-encoded JSON (older SDKs)."""
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        return json_body(stripped.encode(), "data")
    try:
        decoded = base64.b64decode(stripped + "=" * (-len(stripped) % 4), validate=False)
    except (binascii.Error, ValueError):
        raise InvalidRequestError("the data field is neither JSON nor base64 JSON") from None
    return json_body(decoded, "data")


#: Canonical field names as the vendors call them, in rejection paths.
_VENDOR_FIELDS = {"name": "event"}


def finish(
    items: list[Draft | list[FieldError]],
    *,
    app_id: int,
    source: str,
    received_at: int,
    sent_at: int | None,
    limits: LimitSettings,
    ip: str | None,
    prefix: str,
) -> Decoded:
    """Turn drafts into canonical events with :func:`canonical_event` (the native API's
    limits and clock-skew correction) and collect the profile operations of
    identify-like messages.

    ``items[i]`` is message ``i`` of the request: a draft, or the errors its decoder
    found. ``prefix`` names the list in field paths (``batch[3].userId``).
    """
    out = Decoded()
    at = Arrival(app_id, source, received_at, sent_at, limits, ip, any_reserved=True)
    for i, item in enumerate(items):
        if isinstance(item, list):
            out.rejected.append(_rejection(i, None, item, prefix))
            continue
        event = canonical_event(item, at)
        if not isinstance(event, CanonicalEvent):
            errors = [(_VENDOR_FIELDS.get(f, f), m) for f, m in event]
            out.rejected.append(_rejection(i, str(item.event_id), errors, prefix))
            continue
        out.accepted.append(event)
        out.positions.append(i)
        if item.user_id and (item.profile is not None or item.link):
            set_, set_once = item.profile or ({}, {})
            out.ops.append(
                ProfileOp(
                    app_id=app_id,
                    user_id=item.user_id,
                    event_id=item.event_id,
                    at=event.ts,
                    anonymous_id=item.link,
                    set=set_,
                    set_once=set_once,
                )
            )
    return out


def _rejection(i: int, event_id: str | None, errors: list[FieldError], prefix: str) -> Rejection:
    return Rejection(
        index=i,
        event_id=event_id,
        errors=[
            FieldReason(field=f"{prefix}[{i}].{f}" if f else f"{prefix}[{i}]", message=m)
            for f, m in errors
        ],
    )


def context_from(props: dict[str, Any], fields: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """A canonical ``context`` from a vendor's flat properties: ``fields`` maps a vendor
    property (e.g. ``$os``) to ``(object, key)`` (e.g. ``("os", "name")``); only
    scalar values are taken."""
    ctx: dict[str, Any] = {}
    for prop, (obj, name) in fields.items():
        value = props.get(prop)
        if value is not None and not isinstance(value, dict | list):
            ctx.setdefault(obj, {}).setdefault(name, value)
    return ctx


def as_object(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def encode(obj: Any) -> bytes:
    """JSON bytes."""
    return _encoder.encode(obj)
