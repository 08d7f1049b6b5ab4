"""``/segment``: analytics-kotlin, analytics-swift, analytics.js and the server
libraries post batches and single calls (track, identify, page, screen, group, alias)
here; :mod:`eventkit.compat.segment` maps them, and the answer is Segment's
``{"success": true}``.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, Router, get, post
from litestar.params import PathParameter

from eventkit.api.auth import granted
from eventkit.api.vendors import http
from eventkit.compat import segment
from eventkit.compat.common import as_object, json_body
from eventkit.errors import EventKitError, InvalidRequestError

__all__ = ["SEGMENT"]

_TAGS = ["compat"]


def _segment_error(_: Request, exc: EventKitError) -> tuple[int, Any, dict[str, str]]:  # type: ignore[type-arg]
    return segment.error_body(exc)


async def _segment(request: Request, kind: str | None) -> Response[bytes]:  # type: ignore[type-arg]
    payload = json_body(await http.read(request), "Segment")
    if kind is None:
        msgs, ctx, sent = segment.batch_messages(payload)
        body_key = as_object(payload).get("writeKey")
    else:
        msgs, ctx = [payload], {}
        sent = as_object(payload).get("sentAt")
        body_key = as_object(payload).get("writeKey")
    if not isinstance(body_key, str) and msgs:
        body_key = as_object(msgs[0]).get("writeKey")
    key = await http.resolve(request, body_key if isinstance(body_key, str) else None)
    http.check_count(len(msgs), request)
    items = [segment.draft(m, kind, ctx) for m in msgs]
    decoded = http.decode(
        request, items, app_id=key.app_id, source="segment", sent_at=sent, prefix="batch"
    )
    result = await http.store(request, decoded, "segment")
    if result.rejected and not result.accepted and not result.duplicates:
        first = result.rejected[0].errors[0]
        raise InvalidRequestError(
            f"every message was rejected; first: {first.field} {first.message}"
        )
    body: dict[str, Any] = {"success": True}
    if result.rejected:
        body["rejected"] = [
            {"index": r.index, "errors": [f"{e.field} {e.message}" for e in r.errors]}
            for r in result.rejected
        ]
    return http.json_response(body)


@post(
    ["/v1/batch", "/v1/b", "/v1/import"],
    name="segment-batch",
    tags=_TAGS,
    status_code=200,
    summary="Segment batch (analytics-kotlin/swift /b, legacy /import)",
)
async def segment_batch(request: Request) -> Response[bytes]:  # type: ignore[type-arg]
    """A Segment batch: ``{"batch": [...], "context"?, "sentAt"?, "writeKey"?}``."""
    return await _segment(request, None)


@post(
    [f"/v1/{p}" for p in segment.PATH_TYPES],
    name="segment-call",
    tags=_TAGS,
    status_code=200,
    summary="Segment single call (track, identify, page, screen, group, alias; t/i/p/s/g/a)",
)
async def segment_call(request: Request) -> Response[bytes]:  # type: ignore[type-arg]
    """One Segment message; its type comes from the path."""
    kind = segment.PATH_TYPES[request.url.path.rstrip("/").rsplit("/", 1)[-1]]
    return await _segment(request, kind)


@get(
    "/v1/projects/{write_key:str}/settings",
    name="segment-settings",
    tags=_TAGS,
    summary="Segment mobile SDK settings",
)
async def segment_settings(
    request: Request,  # type: ignore[type-arg]
    write_key: Annotated[str, PathParameter()],
) -> Response[bytes]:
    """The settings analytics-kotlin/swift fetch at start (``cdnHost``)."""
    found = await request.app.state.key_cache.resolve(write_key)
    if found is None or not granted(found, "capture"):
        raise InvalidRequestError("unknown write key; use the eventkit app's write key")
    public = http.runtime(request).settings.server.public_url
    host = public.split("://", 1)[-1].rstrip("/") if public else request.headers.get("host", "")
    return http.json_response(segment.settings_body(write_key, f"{host}/segment/v1"))


SEGMENT = Router(
    path="/segment",
    route_handlers=[segment_batch, segment_call, segment_settings],
    exception_handlers=http.handlers_for(_segment_error),
)
