"""The dependencies API handlers declare instead of reaching into ``app.state``.

- ``runtime``: the server's :class:`Runtime` (engine, ingest service, flag service,
  metrics), provided to every handler of the app;
- ``app_key``: the authenticated key of the request (:class:`ResolvedKey`), declared per
  route with :data:`WRITE_KEY` (capture and flag evaluation; a secret key also passes)
  or :data:`SECRET_KEY` (reads and admin). A failure is raised before the handler runs:
  401 without a valid key, 403 for a write key where a secret key is needed, 429 after
  too many failed keys from one address.

A route states what it accepts in one place, its ``dependencies``::

    @get("/v1/things", dependencies={"app_key": SECRET_KEY})
    async def things(app_key: AppKey, runtime: RuntimeDep) -> ...
"""

from __future__ import annotations

from litestar import Request
from litestar.di import NamedDependency, Provide

from eventkit.api.auth import require_key
from eventkit.ingest.runtime import Runtime
from eventkit.storage.apps import ResolvedKey

__all__ = ["RUNTIME", "SECRET_KEY", "WRITE_KEY", "AppKey", "RuntimeDep", "provide_runtime"]

#: A handler parameter for the server's runtime: ``runtime: RuntimeDep``.
RuntimeDep = NamedDependency[Runtime]
#: A handler parameter for the request's key: ``app_key: AppKey``.
AppKey = NamedDependency[ResolvedKey]


def provide_runtime(request: Request) -> Runtime:  # type: ignore[type-arg]
    """The runtime the app was built with."""
    runtime: Runtime = request.app.state.runtime
    return runtime


async def _write_key(request: Request) -> ResolvedKey:  # type: ignore[type-arg]
    return await require_key(request, "write")


async def _secret_key(request: Request) -> ResolvedKey:  # type: ignore[type-arg]
    return await require_key(request, "secret")


#: App-wide: ``runtime``.
RUNTIME = Provide(provide_runtime, sync_to_thread=False)
#: A write (or secret) key of the app: capture, flag evaluation.
WRITE_KEY = Provide(_write_key)
#: The app's secret key: reads and admin.
SECRET_KEY = Provide(_secret_key)
