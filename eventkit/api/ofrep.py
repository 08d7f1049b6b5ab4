"""OpenFeature Remote Evaluation Protocol (OFREP) v1: single and bulk evaluation.

Bodies and status codes follow the protocol's ``service/openapi.yaml``: 200 with
``{key, value, reason, variant, metadata}``; 400 ``{key, errorCode, errorDetails}``
for PARSE_ERROR, INVALID_CONTEXT and TARGETING_KEY_MISSING; 404 for FLAG_NOT_FOUND;
bulk answers carry per-flag failures inside ``flags`` and an ETag (304 on match).
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import PathParameter

from eventkit.api.deps import WRITE_KEY, AppKey, RuntimeDep
from eventkit.api.flags import json_response, not_modified
from eventkit.flags.context import flatten_context
from eventkit.flags.evaluator import Evaluation
from eventkit.flags.service import encode, etag_matches, etag_of

__all__ = ["ofrep_bulk", "ofrep_configuration", "ofrep_single"]

_any = msgspec.json.Decoder()


class _BadRequest(Exception):
    def __init__(self, code: str, details: str) -> None:
        super().__init__(details)
        self.code = code
        self.details = details


async def _context(request: Request) -> dict[str, Any]:  # type: ignore[type-arg]
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = _any.decode(raw)
    except msgspec.DecodeError as exc:
        raise _BadRequest("PARSE_ERROR", f"the request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise _BadRequest("INVALID_CONTEXT", 'the body must be an object: {"context": {...}}')
    ctx = body.get("context", {})
    if ctx is None:
        return {}
    if not isinstance(ctx, dict):
        raise _BadRequest("INVALID_CONTEXT", "context must be an object")
    tk = ctx.get("targetingKey")
    if tk is not None and not isinstance(tk, str):
        raise _BadRequest("INVALID_CONTEXT", "targetingKey must be a string")
    return flatten_context(ctx)


def _success(ev: Evaluation) -> dict[str, Any]:
    out: dict[str, Any] = {
        "key": ev.key,
        "value": ev.value,
        "reason": ev.reason,
        "variant": ev.variant,
        "metadata": {},
    }
    if ev.rule is not None:
        out["metadata"] = {"rule": ev.rule}
    return out


def _failure(key: str, code: str, details: str | None) -> dict[str, Any]:
    return {"key": key, "errorCode": code, "errorDetails": details or code}


@post(
    "/ofrep/v1/evaluate/flags/{key:str}",
    name="ofrep-evaluate-flag",
    summary="OFREP single flag evaluation",
    description="OpenFeature Remote Evaluation Protocol. Write key as Bearer token.",
    tags=["ofrep"],
    status_code=200,
    dependencies={"app_key": WRITE_KEY},
)
async def ofrep_single(
    request: Request,  # type: ignore[type-arg]
    app_key: AppKey,
    runtime: RuntimeDep,
    key: Annotated[str, PathParameter(description="Flag key.")],
) -> Response[bytes]:
    """Evaluate one flag for the context."""
    try:
        ctx = await _context(request)
    except _BadRequest as exc:
        return json_response(encode(_failure(key, exc.code, exc.details)), status=400)
    service = runtime.flags
    evaluator = await service.evaluator(app_key.app_id)
    ev = evaluator.evaluate(key, ctx)
    if ev.error_code == "FLAG_NOT_FOUND":
        return json_response(encode(_failure(key, ev.error_code, ev.error_message)), status=404)
    if ev.error_code:
        return json_response(encode(_failure(key, ev.error_code, ev.error_message)), status=400)
    service.record(app_key.app_id, evaluator, [ev], ctx)
    return json_response(encode({**_success(ev), "cacheable": False}))


@post(
    "/ofrep/v1/evaluate/flags",
    name="ofrep-evaluate-flags",
    summary="OFREP bulk evaluation",
    description="OpenFeature Remote Evaluation Protocol. Write key as Bearer token. "
    "ETag / If-None-Match (304).",
    tags=["ofrep"],
    status_code=200,
    dependencies={"app_key": WRITE_KEY},
)
async def ofrep_bulk(
    request: Request,  # type: ignore[type-arg]
    app_key: AppKey,
    runtime: RuntimeDep,
) -> Response[bytes]:
    """Evaluate every live flag for the context."""
    try:
        ctx = await _context(request)
    except _BadRequest as exc:
        failure = {"errorCode": exc.code, "errorDetails": exc.details}
        return json_response(encode(failure), status=400)
    service = runtime.flags
    evaluator = await service.evaluator(app_key.app_id)
    evals = evaluator.evaluate_all(ctx)
    service.record(app_key.app_id, evaluator, evals, ctx)
    flags = [
        _failure(ev.key, ev.error_code, ev.error_message) if ev.error_code else _success(ev)
        for ev in evals
    ]
    body = encode({"flags": flags})
    etag = etag_of(body)
    if etag_matches(request.headers.get("if-none-match"), etag):
        return not_modified(etag)
    return json_response(body, etag)


_CONFIGURATION = encode(
    {
        "name": "eventkit",
        "capabilities": {
            "cacheInvalidation": {"polling": {"enabled": True, "minPollingIntervalMs": 1000}},
            "flagEvaluation": {"supportedTypes": ["boolean", "string", "int", "float", "object"]},
        },
    }
)


@get(
    "/ofrep/v1/configuration",
    name="ofrep-configuration",
    summary="OFREP provider configuration",
    description="OFREP extension: capabilities of eventkit's flag service (write key).",
    tags=["ofrep"],
    dependencies={"app_key": WRITE_KEY},
)
async def ofrep_configuration(
    request: Request,  # type: ignore[type-arg]
    app_key: AppKey,
) -> Response[bytes]:
    """Polling and type capabilities, with an ETag."""
    etag = etag_of(_CONFIGURATION)
    if etag_matches(request.headers.get("if-none-match"), etag):
        return not_modified(etag)
    return json_response(_CONFIGURATION, etag)
