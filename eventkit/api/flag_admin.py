"""Flag administration over HTTP (flags:read): list, read, create or replace, history.

Changes are audited with the key's prefix as the actor (``key:ek_secret_abc123``).
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import msgspec
from litestar import Request, get, put
from litestar.params import PathParameter, QueryParameter

from eventkit.api.auth import presented_key
from eventkit.api.deps import FLAGS_READ, FLAGS_WRITE, AppKey, RuntimeDep
from eventkit.errors import InvalidRequestError, NotFoundError
from eventkit.flags.spec import FlagSpec
from eventkit.flags.store import (
    FlagRecord,
    change_flag,
    create_flag,
    get_flag,
    history,
    list_flags,
    spec_to_doc,
)
from eventkit.timeutil import from_us

__all__ = ["flag_history", "list_all_flags", "put_flag", "read_flag"]

KeyPath = Annotated[str, PathParameter(description="Flag key.")]
_PREFIX_LEN = 16  # as stored in api_keys.prefix


def _doc(rec: FlagRecord) -> dict[str, Any]:
    return {
        **spec_to_doc(rec.spec),
        "version": rec.version,
        "updated_at": from_us(rec.updated_at).isoformat(),
    }


def _actor(request: Request) -> str:  # type: ignore[type-arg]
    return f"key:{(presented_key(request) or '')[:_PREFIX_LEN]}"


@get(
    "/v1/flags",
    name="flags-list",
    summary="List flags",
    tags=["flags"],
    dependencies={"app_key": FLAGS_READ},
)
async def list_all_flags(
    app_key: AppKey,
    runtime: RuntimeDep,
    archived: Annotated[bool, QueryParameter(description="Include archived flags.")] = False,
) -> dict[str, Any]:
    """Every flag of the app (flags:read), archived ones with ``?archived=true``."""
    recs = await asyncio.to_thread(list_flags, runtime.engine, app_key.app_id, archived=archived)
    return {"flags": [_doc(r) for r in recs]}


@get(
    "/v1/flags/{key:str}",
    name="flags-read",
    summary="Read a flag",
    tags=["flags"],
    dependencies={"app_key": FLAGS_READ},
)
async def read_flag(
    app_key: AppKey,
    runtime: RuntimeDep,
    key: KeyPath,
) -> dict[str, Any]:
    """One flag's definition and version (flags:read)."""
    return _doc(await asyncio.to_thread(get_flag, runtime.engine, app_key.app_id, key))


@put(
    "/v1/flags/{key:str}",
    name="flags-put",
    summary="Create or replace a flag",
    tags=["flags"],
    dependencies={"app_key": FLAGS_WRITE},
)
async def put_flag(
    request: Request,  # type: ignore[type-arg]
    app_key: AppKey,
    runtime: RuntimeDep,
    key: KeyPath,
) -> dict[str, Any]:
    """Create the flag, or replace its definition (flags:write); audited."""
    try:
        doc = msgspec.json.decode(await request.body())
        if not isinstance(doc, dict):
            raise InvalidRequestError("the body must be a flag definition object")
        doc["key"] = key
        spec = msgspec.convert(doc, FlagSpec)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise InvalidRequestError(
            f"invalid flag definition: {exc} (docs/feature_flags.md)"
        ) from None
    actor = f"token:{app_key.name}" if app_key.kind == "token" else _actor(request)

    def save() -> FlagRecord:
        try:
            get_flag(runtime.engine, app_key.app_id, key)
        except NotFoundError:
            return create_flag(runtime.engine, app_key.app_id, spec, actor=actor)
        return change_flag(
            runtime.engine,
            app_key.app_id,
            key,
            lambda _: spec,
            action="replace",
            summary="replaced over the API",
            actor=actor,
        )

    return _doc(await asyncio.to_thread(save))


@get(
    "/v1/flags/{key:str}/history",
    name="flags-history",
    summary="A flag's audit history",
    tags=["flags"],
    dependencies={"app_key": FLAGS_READ},
)
async def flag_history(
    app_key: AppKey,
    runtime: RuntimeDep,
    key: KeyPath,
) -> dict[str, Any]:
    """Every change to the flag, oldest first (flags:read)."""
    entries = await asyncio.to_thread(history, runtime.engine, app_key.app_id, key)
    return {
        "history": [
            {
                "version": h.version,
                "action": h.action,
                "summary": h.summary,
                "actor": h.actor,
                "at": from_us(h.at).isoformat(),
                "definition": spec_to_doc(h.spec),
            }
            for h in entries
        ]
    }
