"""The dependencies API handlers declare instead of reaching into ``app.state``.

- ``runtime``: the server's :class:`Runtime` (engine, ingest service, flag service,
  metrics), provided to every handler of the app;
- ``app_key``: the authenticated credential of the request (:class:`ResolvedKey`: an app
  key or a scoped token), declared per route with the one scope the route needs:
  :data:`WRITE_KEY` (``capture``: sending events, evaluating flags), :data:`EVENTS_READ`,
  :data:`REPORTS_READ`, :data:`QUERY_READ`, :data:`FLAGS_READ`, :data:`FLAGS_WRITE`,
  :data:`SECRET_KEY` (``admin``). The secret key grants every scope, the write key only
  ``capture``, a token its own scopes (docs/security.md). A failure is raised before
  the handler runs: 401 without a valid credential (or an expired token), 403 without
  the scope, 429 after too many failed credentials from one address.

A route states what it accepts in one place, its ``dependencies``::

    @get("/v1/things", dependencies={"app_key": REPORTS_READ})
    async def things(app_key: AppKey, runtime: RuntimeDep) -> ...
"""

from __future__ import annotations

from litestar import Request
from litestar.di import NamedDependency, Provide

from eventkit.api.auth import require_scope
from eventkit.ingest.runtime import Runtime
from eventkit.storage.apps import ResolvedKey
from eventkit.tokens.scopes import Scope

__all__ = [
    "EVENTS_READ",
    "FLAGS_READ",
    "FLAGS_WRITE",
    "QUERY_READ",
    "REPORTS_READ",
    "RUNTIME",
    "SECRET_KEY",
    "WRITE_KEY",
    "AppKey",
    "RuntimeDep",
    "provide_runtime",
    "scope",
]

#: A handler parameter for the server's runtime: ``runtime: RuntimeDep``.
RuntimeDep = NamedDependency[Runtime]
#: A handler parameter for the request's key: ``app_key: AppKey``.
AppKey = NamedDependency[ResolvedKey]


def provide_runtime(request: Request) -> Runtime:  # type: ignore[type-arg]
    """The runtime the app was built with."""
    runtime: Runtime = request.app.state.runtime
    return runtime


def scope(name: Scope) -> Provide:
    """The ``app_key`` dependency of a route that needs scope ``name``."""

    async def credential(request: Request) -> ResolvedKey:  # type: ignore[type-arg]
        return await require_scope(request, name)

    credential.__name__ = f"credential_{name.replace(':', '_')}"
    return Provide(credential)


#: App-wide: ``runtime``.
RUNTIME = Provide(provide_runtime, sync_to_thread=False)
#: ``capture``: a write or secret key (or an ``admin`` token): capture, flag evaluation.
WRITE_KEY = scope("capture")
#: ``events:read``: events and sessions.
EVENTS_READ = scope("events:read")
#: ``reports:read``: reports.
REPORTS_READ = scope("reports:read")
#: ``query:read``: SQL.
QUERY_READ = scope("query:read")
#: ``flags:read``: flag definitions and history.
FLAGS_READ = scope("flags:read")
#: ``flags:write``: create and change flags.
FLAGS_WRITE = scope("flags:write")
#: ``admin``: the secret key (or an ``admin`` token): tracking plans, privacy.
SECRET_KEY = scope("admin")
