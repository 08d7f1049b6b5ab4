"""``/mixpanel``: track, engage, groups and import as the Mixpanel SDKs send them (JSON,
form-encoded, base64); :mod:`eventkit.compat.mixpanel` maps them, and each endpoint
answers in its own shape (``1``, verbose ``{status, error}``, or import's counts).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, post

from eventkit.api.vendors import http
from eventkit.compat import mixpanel
from eventkit.compat.common import as_object
from eventkit.errors import EventKitError

__all__ = ["MIXPANEL"]

_TAGS = ["compat"]


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
    data = await http.read(request)
    items_raw, form = mixpanel.messages(data)
    verbose = _flag(request, form, "verbose")
    request.state.mixpanel_verbose = verbose
    key = await http.resolve(request, mixpanel.key_of(items_raw))
    http.check_count(len(items_raw), request)
    drafts = [_MIXPANEL_DRAFTS[endpoint](m) for m in items_raw]
    decoded = http.decode(
        request, drafts, app_id=key.app_id, source="mixpanel", sent_at=None, prefix="records"
    )
    result = await http.store(request, decoded, "mixpanel")
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
        return http.json_response(
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
        return http.json_response({"code": 200, "num_records_imported": imported, "status": "OK"})
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
    return http.json_response(body, status)


MIXPANEL = Router(
    path="/mixpanel",
    route_handlers=[mixpanel_ingest],
    exception_handlers=http.handlers_for(_mixpanel_error),
)
