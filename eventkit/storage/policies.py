"""Per-app policies read by the ingest pipeline (tracking plan, privacy settings,
tombstones), and the counter that tells every server process when one changed.

Writers call :func:`bump_policy_version` in the transaction that changes a policy.
Each process keeps a :class:`PolicyCache` and polls ``app_policy_versions`` at most
once per ``refresh_seconds`` (one small read, never per event), reloading only the apps
whose counter moved.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

from sqlalchemy import select, text, update
from sqlalchemy.engine import Connection, Engine

from eventkit.errors import DatabaseUnavailableError, NotFoundError
from eventkit.storage.errors import map_db_errors
from eventkit.storage.models import APP_POLICY_VERSIONS, APPS

__all__ = [
    "PolicyCache",
    "app_id_by_name",
    "app_settings",
    "bump_policy_version",
    "policy_versions",
    "update_app_settings",
]

T = TypeVar("T")


def bump_policy_version(conn: Connection, app_id: int) -> None:
    """Tell every server that the app's policy changed (inside the change's transaction)."""
    conn.execute(
        text(
            "INSERT INTO app_policy_versions (app_id, version) VALUES (:a, 1) "
            "ON CONFLICT (app_id) DO UPDATE SET version = app_policy_versions.version + 1"
        ),
        {"a": app_id},
    )


def policy_versions(conn: Connection) -> dict[int, int]:
    """Every app's policy counter."""
    rows = conn.execute(select(APP_POLICY_VERSIONS.c.app_id, APP_POLICY_VERSIONS.c.version))
    return {int(a): int(v) for a, v in rows}


def app_id_by_name(conn: Connection, name: str) -> int:
    """The id of the app called ``name``.

    Raises:
        NotFoundError: no such app.
    """
    found = conn.execute(select(APPS.c.id).where(APPS.c.name == name)).scalar()
    if found is None:
        raise NotFoundError(f"no app named {name!r}; `eventkit apps list` shows the apps")
    return int(found)


def app_settings(conn: Connection, app_id: int) -> dict[str, Any]:
    """The app's ``apps.settings`` document ({} when unset)."""
    value = conn.execute(select(APPS.c.settings).where(APPS.c.id == app_id)).scalar()
    return dict(value or {})


def update_app_settings(
    conn: Connection, app_id: int, section: str, values: dict[str, Any]
) -> dict[str, Any]:
    """Merge ``values`` into ``apps.settings[section]`` (a None value removes the key),
    bump the policy counter, and return the section after the change."""
    doc = app_settings(conn, app_id)
    current = dict(doc.get(section) or {})
    for key, value in values.items():
        if value is None:
            current.pop(key, None)
        else:
            current[key] = value
    doc[section] = current
    conn.execute(update(APPS).where(APPS.c.id == app_id).values(settings=doc))
    bump_policy_version(conn, app_id)
    return current


log = logging.getLogger("eventkit.storage")


class PolicyCache(Generic[T]):
    """Compiled per-app policies of one kind, refreshed when the app's counter moves.

    ``load(conn, app_ids)`` compiles the policies of those apps; an app without an
    entry gets ``default``. Reads (:meth:`get`) never touch the database;
    :meth:`refresh` does; async callers use :meth:`current`, which runs it in a thread
    when :meth:`due`.
    """

    def __init__(
        self,
        engine: Engine,
        load: Callable[[Connection, Iterable[int]], dict[int, T]],
        default: T,
        refresh_seconds: float,
    ) -> None:
        self.engine = engine
        self._load = load
        self.default = default
        self.refresh_seconds = refresh_seconds
        self._policies: dict[int, T] = {}
        self._versions: dict[int, int] | None = None
        self._checked = float("-inf")
        self._lock = threading.Lock()

    def get(self, app_id: int) -> T:
        """The app's policy as last loaded."""
        return self._policies.get(app_id, self.default)

    async def current(self, app_id: int) -> T:
        """The app's policy for the event loop: checked in a thread when due, then read."""
        if self.due():
            await asyncio.to_thread(self.refresh)
        return self.get(app_id)

    def due(self) -> bool:
        """True when the counters should be checked again."""
        return time.monotonic() - self._checked >= self.refresh_seconds

    def refresh(self) -> None:
        """Reload the apps whose counter moved since the last check.

        Once loaded, the policies outlive a database outage: while the database is
        unreachable the last loaded ones keep applying (capture goes on into the spool)
        and the check is retried every ``refresh_seconds``; a caller arriving while
        another thread checks does not wait. Until the first load succeeds, an outage
        raises, because the defaults could let through what a policy drops.

        Raises:
            DatabaseUnavailableError: the database is unreachable and nothing was loaded.
        """
        loaded_once = self._versions is not None
        if not self._lock.acquire(blocking=not loaded_once):
            return  # another thread is checking; serve the policies as last loaded
        try:
            if not self.due():
                return
            try:
                with map_db_errors(), self.engine.connect() as conn:
                    versions = policy_versions(conn)
                    old = self._versions or {}
                    changed = [a for a, v in versions.items() if old.get(a) != v]
                    loaded = self._load(conn, changed) if changed else {}
            except DatabaseUnavailableError as exc:
                if not loaded_once:
                    raise
                self._checked = time.monotonic()
                log.warning("policy check failed, keeping the loaded policies: %s", exc)
                return
            for app_id in changed:
                if app_id in loaded:
                    self._policies[app_id] = loaded[app_id]
                else:
                    self._policies.pop(app_id, None)
            self._versions = versions
            self._checked = time.monotonic()
        finally:
            self._lock.release()
