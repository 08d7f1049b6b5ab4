"""The vendor routers: ``/segment``, ``/posthog``, ``/amplitude``, ``/mixpanel``.

Handlers are thin: read the body, resolve the key, let the vendor module decode, end
in ``CaptureService.store`` (through :func:`eventkit.compat.http.store`), answer in
the vendor's shape. Paths are registered without a trailing slash; Litestar matches
``/batch/`` to ``/batch`` without redirecting, which SDK uploads need.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, Router, get, post
from litestar.params import PathParameter

from eventkit.api.flags import flag_service, not_modified
from eventkit.compat import amplitude, mixpanel, posthog, segment
from eventkit.compat.common import as_object, form_data, json_body, maybe_base64_json
from eventkit.compat.http import (
    check_count,
    decode,
    handlers_for,
    json_response,
    read,
    resolve,
    runtime,
    store,
)
from eventkit.errors import EventKitError, InvalidRequestError, PermissionDeniedError
from eventkit.flags.service import encode, etag_matches, etag_of
from eventkit.timeutil import now_us

__all__ = ["ROUTERS"]

_TAGS = ["compat"]

# -- Segment ----------------------------------------------------------------------------


def _segment_error(_: Request, exc: EventKitError) -> tuple[int, Any, dict[str, str]]:  # type: ignore[type-arg]
    return segment.error_body(exc)


async def _segment(request: Request, kind: str | None) -> Response[bytes]:  # type: ignore[type-arg]
    payload = json_body(await read(request), "Segment")
    if kind is None:
        msgs, ctx, sent = segment.batch_messages(payload)
        body_key = as_object(payload).get("writeKey")
    else:
        msgs, ctx = [payload], {}
        sent = as_object(payload).get("sentAt")
        body_key = as_object(payload).get("writeKey")
    if not isinstance(body_key, str) and msgs:
        body_key = as_object(msgs[0]).get("writeKey")
    key = await resolve(request, body_key if isinstance(body_key, str) else None)
    check_count(len(msgs), request)
    items = [segment.draft(m, kind, ctx) for m in msgs]
    decoded = decode(
        request, items, app_id=key.app_id, source="segment", sent_at=sent, prefix="batch"
    )
    result = await store(request, decoded, "segment")
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
    return json_response(body)


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
    if found is None:
        raise InvalidRequestError("unknown write key; use the eventkit app's write key")
    public = runtime(request).settings.server.public_url
    host = public.split("://", 1)[-1].rstrip("/") if public else request.headers.get("host", "")
    return json_response(segment.settings_body(write_key, f"{host}/segment/v1"))


SEGMENT = Router(
    path="/segment",
    route_handlers=[segment_batch, segment_call, segment_settings],
    exception_handlers=handlers_for(_segment_error),
)

# -- PostHog ----------------------------------------------------------------------------


def _posthog_error(_: Request, exc: EventKitError) -> tuple[int, Any, dict[str, str]]:  # type: ignore[type-arg]
    return posthog.error_body(exc)


async def _posthog_payload(request: Request) -> Any:  # type: ignore[type-arg]
    """A PostHog body: JSON, gzip (header or ``?compression=gzip-js``), or a form with
    ``data=`` (base64 JSON, older posthog-js)."""
    hint = request.query_params.get("compression") in ("gzip", "gzip-js")
    data = await read(request, gzip_hint=hint)
    form = form_data(data)
    if form is not None and "data" in form:
        return maybe_base64_json(form["data"])
    return json_body(data, "PostHog")


async def _posthog_decode(request: Request) -> tuple[Any, list[Any], Any]:  # type: ignore[type-arg]
    payload = await _posthog_payload(request)
    events, sent, body_key = posthog.batch_of(payload)
    key = await resolve(request, body_key or request.query_params.get("token"))
    check_count(len(events), request)
    received = now_us()
    items = [posthog.draft(ev, received) for ev in events]
    # Events that opt out of skew correction carry no sent_at of their own.
    skewless = [posthog.skip_skew(ev) for ev in events]
    decoded = decode(
        request,
        items,
        app_id=key.app_id,
        source="posthog",
        sent_at=None if all(skewless) else sent,
        prefix="batch",
        received_at=received,
    )
    if any(skewless) and not all(skewless):
        for ev, pos in zip(decoded.accepted, decoded.positions, strict=True):
            if skewless[pos]:
                ev.ts, ev.sent_at = ev.timestamp, None
    return decoded, events, key


@post(
    ["/batch", "/e", "/capture", "/i/v0/e", "/track"],
    name="posthog-capture",
    tags=_TAGS,
    status_code=200,
    summary="PostHog capture (batch, single event or array)",
)
async def posthog_capture(request: Request) -> Response[bytes]:  # type: ignore[type-arg]
    """PostHog's legacy capture endpoints; answers ``{"status": 1}``."""
    decoded, _, _ = await _posthog_decode(request)
    result = await store(request, decoded, "posthog")
    if result.rejected and not result.accepted and not result.duplicates:
        first = result.rejected[0].errors[0]
        raise InvalidRequestError(f"every event was rejected; first: {first.field} {first.message}")
    return json_response({"status": 1})


@post(
    "/i/v1/analytics/events",
    name="posthog-capture-v1",
    tags=_TAGS,
    status_code=200,
    summary="PostHog capture v1 (per-event results)",
)
async def posthog_capture_v1(request: Request) -> Response[bytes]:  # type: ignore[type-arg]
    """Capture v1: a ``results`` map keyed by event uuid (``ok`` or ``drop``)."""
    decoded, events, _ = await _posthog_decode(request)
    result = await store(request, decoded, "posthog")
    dropped = {r.index: r for r in result.rejected}
    results: dict[str, Any] = {}
    for i, ev in enumerate(events):
        uid = as_object(ev).get("uuid")
        if not isinstance(uid, str):
            continue
        if i in dropped:
            errs = "; ".join(f"{e.field} {e.message}" for e in dropped[i].errors)
            results[uid] = {"result": "drop", "details": errs}
        else:
            results[uid] = {"result": "ok"}
    return json_response({"results": results})


@post(
    ["/flags", "/decide"],
    name="posthog-flags",
    tags=_TAGS,
    status_code=200,
    summary="PostHog flags (/flags?v=2..4, /decide?v=3)",
)
async def posthog_flags(request: Request) -> Response[bytes]:  # type: ignore[type-arg]
    """Evaluate every flag (or ``flag_keys_to_evaluate``) for ``distinct_id``."""
    payload = await _posthog_payload(request)
    body = as_object(payload)
    body_key = body.get("api_key") or body.get("token")
    key = await resolve(request, body_key if isinstance(body_key, str) else None)
    service = flag_service(request)
    evaluator = await service.evaluator(key.app_id)
    ctx = posthog.evaluation_context(body)
    wanted = body.get("flag_keys_to_evaluate")
    if isinstance(wanted, list) and wanted:
        # Unknown keys are left out of the answer, as PostHog does.
        evals = [evaluator.evaluate(k, ctx) for k in wanted if isinstance(k, str)]
        evals = [ev for ev in evals if ev.error_code != "FLAG_NOT_FOUND"]
    else:
        evals = evaluator.evaluate_all(ctx)
    service.record(key.app_id, evaluator, evals, ctx)
    return json_response(posthog.decide_body(evals, evaluator.version))


@get(
    ["/flags/definitions", "/api/feature_flag/local_evaluation"],
    name="posthog-definitions",
    tags=_TAGS,
    summary="PostHog local-evaluation flag definitions (secret key)",
)
async def posthog_definitions(request: Request) -> Response[bytes]:  # type: ignore[type-arg]
    """Definitions for PostHog server SDKs' local evaluation; needs the secret key as
    the SDK's personal API key. Supports If-None-Match."""
    key = await resolve(request, None)
    if key.kind != "secret":
        raise PermissionDeniedError(
            "flag definitions need the app's secret key as the SDK's personal_api_key"
        )
    evaluator = await flag_service(request).evaluator(key.app_id)
    specs = [s for k in evaluator.keys if (s := evaluator.spec(k)) is not None]
    body = encode(posthog.local_definitions(specs))
    etag = etag_of(body)
    if etag_matches(request.headers.get("if-none-match"), etag):
        return not_modified(etag)
    return json_response(body, headers={"ETag": etag, "Cache-Control": "no-cache"})


POSTHOG = Router(
    path="/posthog",
    route_handlers=[posthog_capture, posthog_capture_v1, posthog_flags, posthog_definitions],
    exception_handlers=handlers_for(_posthog_error),
)

# -- Amplitude --------------------------------------------------------------------------


def _amplitude_error(request: Request, exc: EventKitError) -> tuple[int, Any, dict[str, str]]:  # type: ignore[type-arg]
    events = getattr(request.state, "amplitude_events", None)
    return amplitude.error_body(exc, events)


_AMPLITUDE_FIELDS = {
    "event": "event_type",
    "properties": "event_properties",
    "context": "event_properties",
    "timestamp": "time",
    "anonymous_id": "device_id",
}


@post(
    ["/2/httpapi", "/batch"],
    name="amplitude-upload",
    tags=_TAGS,
    status_code=200,
    summary="Amplitude HTTP V2 and Batch upload",
)
async def amplitude_upload(request: Request) -> Response[bytes]:  # type: ignore[type-arg]
    """Amplitude's upload: the whole batch is refused (400, bad indices) if any event
    is invalid, as Amplitude does; its SDKs then resend the valid ones."""
    data = await read(request)
    payload = json_body(data, "Amplitude")
    api_key, events, min_len = amplitude.events_of(payload)
    request.state.amplitude_events = events
    key = await resolve(request, api_key)
    check_count(len(events), request)
    problems = amplitude.Problems()
    items = [amplitude.draft(i, ev, min_len, problems) for i, ev in enumerate(events)]
    if problems:
        return json_response(problems.body(), 400)
    decoded = decode(
        request, items, app_id=key.app_id, source="amplitude", sent_at=None, prefix="events"
    )
    if decoded.rejected:
        for r in decoded.rejected:
            for e in r.errors:
                field = e.field.split("].", 1)[-1].split(".", 1)[0]
                problems.add(problems.invalid, _AMPLITUDE_FIELDS.get(field, field), r.index)
        return json_response(problems.body(), 400)
    result = await store(request, decoded, "amplitude")
    ingested = result.accepted + result.duplicates
    return json_response(amplitude.success_body(ingested, len(data), now_us() // 1000))


AMPLITUDE = Router(
    path="/amplitude",
    route_handlers=[amplitude_upload],
    exception_handlers=handlers_for(_amplitude_error),
)

# -- Mixpanel ---------------------------------------------------------------------------


def _flag(request: Request, form: dict[str, str], name: str) -> bool:  # type: ignore[type-arg]
    value = request.query_params.get(name) or form.get(name) or ""
    return value.strip() in ("1", "true")


def _mixpanel_error(request: Request, exc: EventKitError) -> tuple[int, Any, dict[str, str]]:  # type: ignore[type-arg]
    verbose = request.query_params.get("verbose") == "1" or bool(
        getattr(request.state, "mixpanel_verbose", False)
    )
    imports = request.url.path.rstrip("/").endswith("/import") and not verbose
    return mixpanel.error_body(exc, verbose=verbose, imports=imports)


_MIXPANEL_DRAFTS = {
    "track": mixpanel.event_draft,
    "import": mixpanel.event_draft,
    "engage": mixpanel.profile_draft,
    "groups": mixpanel.group_draft,
}


@post(
    ["/track", "/engage", "/groups", "/import"],
    name="mixpanel-ingest",
    tags=_TAGS,
    status_code=200,
    summary="Mixpanel track, engage, groups and import",
)
async def mixpanel_ingest(request: Request) -> Response[bytes]:  # type: ignore[type-arg]
    """Mixpanel ingestion. ``/import`` answers ``{code, num_records_imported, status}``
    (400 with ``failed_records`` when some fail); the others ``{"status": 1, "error":
    null}`` with ``verbose=1``, else ``1``."""
    endpoint = request.url.path.rstrip("/").rsplit("/", 1)[-1]
    data = await read(request)
    items_raw, form = mixpanel.messages(data)
    verbose = _flag(request, form, "verbose")
    request.state.mixpanel_verbose = verbose
    key = await resolve(request, mixpanel.key_of(items_raw))
    check_count(len(items_raw), request)
    drafts = [_MIXPANEL_DRAFTS[endpoint](m) for m in items_raw]
    decoded = decode(
        request, drafts, app_id=key.app_id, source="mixpanel", sent_at=None, prefix="records"
    )
    result = await store(request, decoded, "mixpanel")
    imported = result.accepted + result.duplicates
    # /import answers {code, num_records_imported, status} unless the client asks for
    # the verbose {status, error} shape (mixpanel-python does, on every endpoint).
    imports = endpoint == "import" and not verbose
    strict = imports or _flag(request, form, "strict")
    if result.rejected and strict and not verbose:
        failed = [
            {
                "index": r.index,
                "$insert_id": as_object(as_object(items_raw[r.index]).get("properties")).get(
                    "$insert_id"
                ),
                "field": e.field,
                "message": e.message,
            }
            for r in result.rejected
            for e in r.errors
        ]
        return json_response(
            {
                "code": 400,
                "error": "some data points in the request failed validation",
                "failed_records": failed,
                "num_records_imported": imported,
                "status": "Bad Request",
            },
            400,
        )
    if imports:
        return json_response({"code": 200, "num_records_imported": imported, "status": "OK"})
    status = 200
    if result.rejected and (not imported or strict):
        first = result.rejected[0].errors[0]
        message = f"{first.field} {first.message}"
        body: Any = {"status": 0, "error": message} if verbose else 0
        status = 400 if strict else 200
    else:
        body = {"status": 1, "error": None} if verbose else 1
    if isinstance(body, int):
        return Response(content=str(body).encode(), status_code=status, media_type="text/plain")
    return json_response(body, status)


MIXPANEL = Router(
    path="/mixpanel",
    route_handlers=[mixpanel_ingest],
    exception_handlers=handlers_for(_mixpanel_error),
)

#: Every vendor router, mounted by the compat plugin.
ROUTERS = [SEGMENT, POSTHOG, AMPLITUDE, MIXPANEL]
