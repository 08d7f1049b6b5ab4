"""The tracking plan over HTTP (secret key): read it, replace it, list violations."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from litestar import Request, get, put
from litestar.params import QueryParameter

from eventkit.api.deps import SECRET_KEY, AppKey, RuntimeDep
from eventkit.errors import InvalidRequestError
from eventkit.timeutil import from_us
from eventkit.tracking.plan import normalize_plan
from eventkit.tracking.store import get_plan, list_violations, push_plan
from eventkit.tracking.validator import KINDS

__all__ = ["ROUTES", "read_plan", "read_violations", "replace_plan"]


@get(
    "/v1/tracking-plan",
    name="read-tracking-plan",
    summary="The app's tracking plan and mode",
    tags=["tracking"],
    dependencies={"app_key": SECRET_KEY},
)
async def read_plan(
    app_key: AppKey,
    runtime: RuntimeDep,
) -> dict[str, Any]:
    """The plan (null before the first push), its version and the app's mode."""
    stored = await asyncio.to_thread(get_plan, runtime.engine, app_key.app_id)
    return {"mode": stored.mode, "version": stored.version, "plan": stored.plan}


@put(
    "/v1/tracking-plan",
    name="replace-tracking-plan",
    summary="Replace the app's tracking plan",
    description="Body: the plan as JSON (docs/tracking_plan.md). Answers what changed.",
    tags=["tracking"],
    dependencies={"app_key": SECRET_KEY},
)
async def replace_plan(
    request: Request,  # type: ignore[type-arg]
    app_key: AppKey,
    runtime: RuntimeDep,
) -> dict[str, Any]:
    """Store a new plan version; servers use it within tracking.refresh_seconds."""
    try:
        doc = await request.json()
    except Exception:
        raise InvalidRequestError("the body must be the plan as JSON") from None
    plan = normalize_plan(doc, "the body")
    actor = f"api:{app_key.key_id}"
    diff = await asyncio.to_thread(push_plan, runtime.engine, app_key.app_id, plan, actor)
    return {"added": diff.added, "removed": diff.removed, "changed": diff.changed}


@get(
    "/v1/tracking-plan/violations",
    name="tracking-violations",
    summary="Tracking plan violations by kind and event name",
    tags=["tracking"],
    dependencies={"app_key": SECRET_KEY},
)
async def read_violations(
    app_key: AppKey,
    runtime: RuntimeDep,
    kind: Annotated[str | None, QueryParameter(description=f"One of {', '.join(KINDS)}.")] = None,
    event: Annotated[str | None, QueryParameter(description="Only this event name.")] = None,
) -> dict[str, Any]:
    """Counts, most frequent first."""
    if kind is not None and kind not in KINDS:
        raise InvalidRequestError(f"kind must be one of {', '.join(KINDS)}")
    rows = await asyncio.to_thread(
        list_violations, runtime.engine, app_key.app_id, kind=kind, event_name=event
    )
    return {
        "violations": [
            {
                "event": v.event_name,
                "kind": v.kind,
                "property": v.property,
                "count": v.count,
                "first_seen": from_us(v.first_seen).isoformat(),
                "last_seen": from_us(v.last_seen).isoformat(),
                "example": v.example,
            }
            for v in rows
        ]
    }


ROUTES = [read_plan, replace_plan, read_violations]
