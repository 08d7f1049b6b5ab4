"""Privacy requests over HTTP (secret key): erase a user, export what is held about
them. Both run the same domain functions as ``eventkit users delete|export``."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from litestar import delete, get
from litestar.params import PathParameter
from litestar.status_codes import HTTP_200_OK

from eventkit.api.deps import SECRET_KEY, AppKey, RuntimeDep
from eventkit.privacy.access import export_user
from eventkit.privacy.erasure import delete_user

__all__ = ["ROUTES", "erase_user", "export_user_data"]

UserPath = Annotated[str, PathParameter(description="The user_id.")]


@delete(
    "/v1/users/{user_id:str}",
    name="erase-user",
    summary="Erase a user (right to erasure)",
    description="Deletes the user's events, sessions, profile and identity links, takes "
    "them out of the rollups, records an audit entry and leaves a tombstone so their late "
    "events are dropped. Needs the app's secret key. Takes a few seconds "
    "(privacy.propagation_seconds). See docs/privacy.md.",
    tags=["privacy"],
    status_code=HTTP_200_OK,
    dependencies={"app_key": SECRET_KEY},
)
async def erase_user(
    app_key: AppKey,
    runtime: RuntimeDep,
    user_id: UserPath,
) -> dict[str, Any]:
    """Erase one user of the key's app; answers what was deleted."""
    result = await asyncio.to_thread(
        delete_user,
        runtime.engine,
        runtime.settings,
        app_key.app_id,
        user_id,
        actor=f"api:{app_key.key_id}",
    )
    return {
        "user_id": user_id,
        "subject": result.subject,
        "anonymous_ids": result.anonymous_ids,
        "deleted": result.deleted,
        "flags_mentioning": result.flags_mentioning,
    }


@get(
    "/v1/users/{user_id:str}/export",
    name="export-user",
    summary="Export everything held about a user (right of access)",
    description="Profile, identity links, events, flag exposures, sessions and active days "
    "as JSON. Needs the app's secret key; recorded in the privacy audit log.",
    tags=["privacy"],
    dependencies={"app_key": SECRET_KEY},
)
async def export_user_data(
    app_key: AppKey,
    runtime: RuntimeDep,
    user_id: UserPath,
) -> dict[str, Any]:
    """Everything held about one user of the key's app."""
    return await asyncio.to_thread(
        export_user, runtime.engine, app_key.app_id, user_id, actor=f"api:{app_key.key_id}"
    )


ROUTES = [erase_user, export_user_data]
