"""``/posthog``: capture (legacy batch/e/capture and v1 with per-event results), the
``/flags`` and ``/decide`` evaluation and the local-evaluation definitions that
posthog-js, posthog-ios/android and the server SDKs call;
:mod:`eventkit.compat.posthog` maps the messages and builds PostHog's answers.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post

from eventkit.api.flags import not_modified
from eventkit.api.vendors import http
from eventkit.compat import posthog
from eventkit.compat.common import as_object, form_data, json_body, maybe_base64_json
from eventkit.errors import EventKitError, InvalidRequestError
from eventkit.flags.service import encode, etag_matches, etag_of
from eventkit.timeutil import now_us

__all__ = ["POSTHOG"]

_TAGS = ["compat"]


def _posthog_error(_: Request, exc: EventKitError) -> tuple[int, Any, dict[str, str]]:  # type: ignore[type-arg]
    return posthog.error_body(exc)


async def _posthog_payload(request: Request) -> Any:  # type: ignore[type-arg]
    """A PostHog body: JSON, gzip (header or ``?compression=gzip-js``), or a form with
    ``data=`` (base64 JSON, older posthog-js)."""
    hint = request.query_params.get("compression") in ("gzip", "gzip-js")
    data = await http.read(request, gzip_hint=hint)
    form = form_data(data)
    if form is not None and "data" in form:
        return maybe_base64_json(form["data"])
    return json_body(data, "PostHog")


async def _posthog_decode(request: Request) -> tuple[Any, list[Any], Any]:  # type: ignore[type-arg]
    payload = await _posthog_payload(request)
    events, sent, body_key = posthog.batch_of(payload)
    key = await http.resolve(request, body_key or request.query_params.get("token"))
    http.check_count(len(events), request)
    received = now_us()
    items = [posthog.draft(ev, received) for ev in events]
    # Events that opt out of skew correction carry no sent_at of their own.
    skewless = [posthog.skip_skew(ev) for ev in events]
    decoded = http.decode(
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
    result = await http.store(request, decoded, "posthog")
    if result.rejected and not result.accepted and not result.duplicates:
        first = result.rejected[0].errors[0]
        raise InvalidRequestError(f"every event was rejected; first: {first.field} {first.message}")
    return http.json_response({"status": 1})


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
    result = await http.store(request, decoded, "posthog")
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
    return http.json_response({"results": results})


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
    key = await http.resolve(request, body_key if isinstance(body_key, str) else None)
    service = http.runtime(request).flags
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
    return http.json_response(posthog.decide_body(evals, evaluator.version))


@get(
    ["/flags/definitions", "/api/feature_flag/local_evaluation"],
    name="posthog-definitions",
    tags=_TAGS,
    summary="PostHog local-evaluation flag definitions (flags:read or the secret key)",
)
async def posthog_definitions(request: Request) -> Response[bytes]:  # type: ignore[type-arg]
    """Definitions for PostHog server SDKs' local evaluation; needs the secret key (or
    a ``flags:read`` token) as the SDK's personal API key. Supports If-None-Match."""
    key = await http.resolve(request, None, scope="flags:read")
    evaluator = await http.runtime(request).flags.evaluator(key.app_id)
    specs = [s for k in evaluator.keys if (s := evaluator.spec(k)) is not None]
    body = encode(posthog.local_definitions(specs))
    etag = etag_of(body)
    if etag_matches(request.headers.get("if-none-match"), etag):
        return not_modified(etag)
    return http.json_response(body, headers={"ETag": etag, "Cache-Control": "no-cache"})


POSTHOG = Router(
    path="/posthog",
    route_handlers=[posthog_capture, posthog_capture_v1, posthog_flags, posthog_definitions],
    exception_handlers=http.handlers_for(_posthog_error),
)
