"""Alerts and annotations over HTTP (docs/alerts.md#http-api). Every route takes the
app's secret key (``SECRET_KEY``) and sees only that app's rules: another app's rule
is a 404."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, delete, get, post
from litestar.params import PathParameter, QueryParameter

from eventkit.alerts import (
    create_rule,
    delete_rule,
    get_rule,
    list_deliveries,
    list_rules,
    list_runs,
    parse_spec,
    send_test,
    set_paused,
)
from eventkit.alerts.present import delivery_dict, rule_dict, run_dict
from eventkit.api.auth import presented_key
from eventkit.api.deps import SECRET_KEY, AppKey, RuntimeDep
from eventkit.errors import InvalidRequestError
from eventkit.ingest.runtime import Runtime
from eventkit.releases import create_annotation, list_annotations
from eventkit.storage.apps import list_apps
from eventkit.timeutil import US_PER_DAY, now_us, parse_when

__all__ = ["ROUTES"]

Name = Annotated[str, PathParameter(description="The rule's name.")]
Q = QueryParameter
_SECRET = {"app_key": SECRET_KEY}
_TAGS = ["alerts"]


def _actor(request: Request) -> str:  # type: ignore[type-arg]
    """The key prefix that the rule records as its creator."""
    return f"key:{(presented_key(request) or '')[:16]}"


def _app_name(runtime: Runtime, app_id: int) -> str:
    return {a.id: a.name for a in list_apps(runtime.engine)}[app_id]


async def _body(request: Request) -> dict[str, Any]:  # type: ignore[type-arg]
    try:
        doc = msgspec.json.decode(await request.body())
    except msgspec.DecodeError as exc:
        raise InvalidRequestError(f"the body is not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise InvalidRequestError("the body must be a JSON object")
    return doc


@get("/v1/alerts", name="alerts-list", summary="List alert rules", tags=_TAGS, dependencies=_SECRET)
async def alerts_list(app_key: AppKey, runtime: RuntimeDep) -> dict[str, Any]:
    """The app's alert rules."""
    rules = await asyncio.to_thread(list_rules, runtime.engine, app_key.app_id, "alert")
    name = await asyncio.to_thread(_app_name, runtime, app_key.app_id)
    return {"alerts": [rule_dict(r, name) for r in rules]}


@post(
    "/v1/alerts",
    name="alerts-create",
    summary="Create an alert rule",
    tags=_TAGS,
    status_code=201,
    dependencies=_SECRET,
)
async def alerts_create(
    request: Request,  # type: ignore[type-arg]
    app_key: AppKey,
    runtime: RuntimeDep,
) -> dict[str, Any]:
    """Create a rule from ``{"name", "metric", "condition", "interval", "cooldown",
    "destinations"}``; 400 names each invalid field, 409 a taken name."""
    doc = await _body(request)
    name = doc.pop("name", None)
    if not isinstance(name, str) or not name:
        raise InvalidRequestError("name: the rule needs a name")
    spec = parse_spec("alert", doc)
    rule = await asyncio.to_thread(
        create_rule, runtime.engine, app_key.app_id, "alert", name, spec, _actor(request)
    )
    return rule_dict(rule, await asyncio.to_thread(_app_name, runtime, app_key.app_id))


@get(
    "/v1/alerts/deliveries",
    name="alerts-deliveries",
    summary="Alert and digest messages",
    tags=_TAGS,
    dependencies=_SECRET,
)
async def alerts_deliveries(
    app_key: AppKey,
    runtime: RuntimeDep,
    status: Annotated[str | None, Q(description="pending, delivered or dead.")] = None,
    limit: Annotated[int, Q(ge=1, le=10_000, description="Most messages.")] = 100,
) -> dict[str, Any]:
    """The app's messages, newest first; ``status=dead`` is the dead-letter list."""
    if status not in (None, "pending", "delivered", "dead"):
        raise InvalidRequestError("status must be pending, delivered or dead")
    rows = await asyncio.to_thread(
        list_deliveries, runtime.engine, app_key.app_id, status=status, limit=limit
    )
    return {"deliveries": [delivery_dict(d) for d in rows]}


@get(
    "/v1/alerts/{name:str}",
    name="alerts-read",
    summary="Read an alert rule",
    tags=_TAGS,
    dependencies=_SECRET,
)
async def alerts_read(app_key: AppKey, runtime: RuntimeDep, name: Name) -> dict[str, Any]:
    """One rule with its last five evaluations."""
    rule = await asyncio.to_thread(get_rule, runtime.engine, app_key.app_id, "alert", name)
    out = rule_dict(rule, await asyncio.to_thread(_app_name, runtime, app_key.app_id))
    runs = await asyncio.to_thread(list_runs, runtime.engine, rule.id, 5)
    out["recent"] = [run_dict(r) for r in runs]
    return out


@get(
    "/v1/alerts/{name:str}/history",
    name="alerts-history",
    summary="A rule's evaluations",
    tags=_TAGS,
    dependencies=_SECRET,
)
async def alerts_history(
    app_key: AppKey,
    runtime: RuntimeDep,
    name: Name,
    limit: Annotated[int, Q(ge=1, le=10_000, description="Most evaluations.")] = 50,
) -> dict[str, Any]:
    """Evaluations, newest first."""
    rule = await asyncio.to_thread(get_rule, runtime.engine, app_key.app_id, "alert", name)
    runs = await asyncio.to_thread(list_runs, runtime.engine, rule.id, limit)
    return {"alert": name, "evaluations": [run_dict(r) for r in runs]}


async def _pause(app_key: AppKey, runtime: Runtime, name: str, paused: bool) -> dict[str, Any]:
    rule = await asyncio.to_thread(
        set_paused, runtime.engine, app_key.app_id, "alert", name, paused
    )
    return rule_dict(rule, await asyncio.to_thread(_app_name, runtime, app_key.app_id))


@post(
    "/v1/alerts/{name:str}/pause",
    name="alerts-pause",
    summary="Pause a rule",
    tags=_TAGS,
    status_code=200,
    dependencies=_SECRET,
)
async def alerts_pause(app_key: AppKey, runtime: RuntimeDep, name: Name) -> dict[str, Any]:
    """Stop evaluating the rule."""
    return await _pause(app_key, runtime, name, True)


@post(
    "/v1/alerts/{name:str}/resume",
    name="alerts-resume",
    summary="Resume a rule",
    tags=_TAGS,
    status_code=200,
    dependencies=_SECRET,
)
async def alerts_resume(app_key: AppKey, runtime: RuntimeDep, name: Name) -> dict[str, Any]:
    """Evaluate the rule again, from the ok state."""
    return await _pause(app_key, runtime, name, False)


@delete(
    "/v1/alerts/{name:str}",
    name="alerts-delete",
    summary="Delete a rule",
    tags=_TAGS,
    status_code=204,
    dependencies=_SECRET,
)
async def alerts_delete(app_key: AppKey, runtime: RuntimeDep, name: Name) -> None:
    """Delete the rule, its history and its unsent messages."""
    await asyncio.to_thread(delete_rule, runtime.engine, app_key.app_id, "alert", name)


@post(
    "/v1/alerts/{name:str}/test",
    name="alerts-test",
    summary="Send a sample now",
    tags=_TAGS,
    status_code=200,
    dependencies=_SECRET,
)
async def alerts_test(app_key: AppKey, runtime: RuntimeDep, name: Name) -> Response[dict[str, Any]]:
    """Send a sample message to each destination now; 200 when every one took it, 502
    when one failed (each result is in the body)."""
    rule = await asyncio.to_thread(get_rule, runtime.engine, app_key.app_id, "alert", name)
    results = await asyncio.to_thread(send_test, runtime.engine, runtime.settings, rule)
    body = {
        "alert": name,
        "results": [{"destination": d, "ok": r.ok, "error": r.error} for d, r in results],
    }
    return Response(body, status_code=200 if all(r.ok for _, r in results) else 502)


@get(
    "/v1/annotations",
    name="annotations-list",
    summary="List annotations",
    tags=_TAGS,
    dependencies=_SECRET,
)
async def annotations_list(
    app_key: AppKey,
    runtime: RuntimeDep,
    since: Annotated[str | None, Q(description="ISO time or span back (default 90d).")] = None,
    until: Annotated[str | None, Q(description="ISO time or span back (default now).")] = None,
) -> dict[str, Any]:
    """The app's annotations in the range, oldest first."""
    try:
        end = parse_when(until) if until else now_us() + 1
        start = parse_when(since) if since else end - 90 * US_PER_DAY
    except ValueError as exc:
        raise InvalidRequestError(str(exc)) from None
    notes = await asyncio.to_thread(list_annotations, runtime.engine, app_key.app_id, start, end)
    return {"annotations": [a.to_dict() for a in notes]}


@post(
    "/v1/annotations",
    name="annotations-create",
    summary="Add an annotation",
    tags=_TAGS,
    status_code=201,
    dependencies=_SECRET,
)
async def annotations_create(
    request: Request,  # type: ignore[type-arg]
    app_key: AppKey,
    runtime: RuntimeDep,
) -> dict[str, Any]:
    """Add ``{"text", "at"}`` (``at``: ISO time, default now) to the app."""
    doc = await _body(request)
    text, at = doc.get("text"), doc.get("at")
    if not isinstance(text, str):
        raise InvalidRequestError("text: the annotation's text (a string) is required")
    try:
        ts = parse_when(at) if isinstance(at, str) and at else now_us()
    except ValueError as exc:
        raise InvalidRequestError(f"at: {exc}") from None
    note = await asyncio.to_thread(
        create_annotation, runtime.engine, app_key.app_id, ts, text, _actor(request)
    )
    return note.to_dict()


#: Every route of this module, for the built-in registration (eventkit/builtins/alerts.py).
ROUTES = [
    alerts_list,
    alerts_create,
    alerts_deliveries,
    alerts_read,
    alerts_history,
    alerts_pause,
    alerts_resume,
    alerts_delete,
    alerts_test,
    annotations_list,
    annotations_create,
]
