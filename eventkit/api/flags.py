"""Flag endpoints: ``POST /v1/flags/evaluate`` (write key) and
``GET /v1/flags/definitions`` (secret key). See docs/feature_flags.md."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, get, post

from eventkit.api.deps import FLAGS_READ, WRITE_KEY, AppKey, RuntimeDep
from eventkit.errors import InvalidRequestError
from eventkit.flags.context import flatten_context
from eventkit.flags.evaluator import Evaluation
from eventkit.flags.service import encode, etag_matches, etag_of
from eventkit.flags.store import spec_to_doc

__all__ = ["evaluate_flags", "flag_definitions"]


class EvaluateRequest(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /v1/flags/evaluate`` body."""

    user_id: str | None = None
    anonymous_id: str | None = None
    attributes: dict[str, Any] = {}
    context: dict[str, Any] = {}
    flags: list[str] | None = None


_decoder = msgspec.json.Decoder(EvaluateRequest)


def context_of(req: EvaluateRequest) -> dict[str, Any]:
    """The flat attribute dict the evaluator sees."""
    ctx: dict[str, Any] = {**flatten_context(req.context), **req.attributes}
    if req.user_id is not None:
        ctx["user_id"] = req.user_id
    if req.anonymous_id is not None:
        ctx["anonymous_id"] = req.anonymous_id
    return ctx


def _item(ev: Evaluation) -> dict[str, Any]:
    out: dict[str, Any] = {"value": ev.value, "variant": ev.variant, "reason": ev.reason}
    if ev.error_code:
        out["error"] = ev.error_code
        out["message"] = ev.error_message
    return out


def not_modified(etag: str) -> Response[bytes]:
    """A 304 carrying the ETag."""
    return Response(content=b"", status_code=304, headers={"ETag": etag})


def json_response(body: bytes, etag: str | None = None, status: int = 200) -> Response[bytes]:
    """A JSON response, with an ETag when given."""
    headers = {"ETag": etag, "Cache-Control": "no-cache"} if etag else None
    return Response(
        content=body, status_code=status, media_type="application/json", headers=headers
    )


@post(
    "/v1/flags/evaluate",
    name="flags-evaluate",
    summary="Evaluate every flag for a user",
    description="Write key. Returns value, variant and reason per flag; supports "
    "If-None-Match (304). See docs/feature_flags.md.",
    tags=["flags"],
    status_code=200,
    dependencies={"app_key": WRITE_KEY},
)
async def evaluate_flags(
    request: Request,  # type: ignore[type-arg]
    app_key: AppKey,
    runtime: RuntimeDep,
) -> Response[bytes]:
    """All (or the requested) flags for one context."""
    try:
        req = _decoder.decode(await request.body() or b"{}")
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise InvalidRequestError(f"the evaluate body is invalid: {exc}") from None
    service = runtime.flags
    evaluator = await service.evaluator(app_key.app_id)
    ctx = context_of(req)
    if req.flags is None:
        evals = evaluator.evaluate_all(ctx)
    else:
        evals = [evaluator.evaluate(k, ctx) for k in req.flags]
    service.record(app_key.app_id, evaluator, evals, ctx)
    body = encode({"flags": {ev.key: _item(ev) for ev in evals}})
    etag = etag_of(body)
    if etag_matches(request.headers.get("if-none-match"), etag):
        return not_modified(etag)
    return json_response(body, etag)


@get(
    "/v1/flags/definitions",
    name="flags-definitions",
    summary="Flag definitions for local evaluation",
    description="flags:read (or the secret key). Every live flag's full definition; feed them to "
    "eventkit.flags.Evaluator. Supports If-None-Match (304).",
    tags=["flags"],
    dependencies={"app_key": FLAGS_READ},
)
async def flag_definitions(
    request: Request,  # type: ignore[type-arg]
    app_key: AppKey,
    runtime: RuntimeDep,
) -> Response[bytes]:
    """Definitions of the app's live flags and the flags version."""
    evaluator = await runtime.flags.evaluator(app_key.app_id)
    specs = [spec_to_doc(s) for k in evaluator.keys if (s := evaluator.spec(k)) is not None]
    body = encode({"version": evaluator.version, "flags": specs})
    etag = etag_of(body)
    if etag_matches(request.headers.get("if-none-match"), etag):
        return not_modified(etag)
    return json_response(body, etag)
