"""Apps and their API keys."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Row, func, select, update
from sqlalchemy.engine import Connection, Engine

from eventkit.errors import ConflictError, InvalidRequestError, NotFoundError
from eventkit.storage.engine import writer
from eventkit.storage.errors import map_db_errors
from eventkit.storage.models import API_KEYS, APPS, EVENTS
from eventkit.timeutil import now_us

__all__ = [
    "AppInfo",
    "KeyKind",
    "NewKeys",
    "ResolvedKey",
    "choose_app",
    "create_app",
    "get_app",
    "hash_key",
    "list_apps",
    "resolve_key",
    "rotate_key",
]

KeyKind = Literal["write", "secret"]
_PREFIX = {"write": "ek_write_", "secret": "ek_secret_"}
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class AppInfo:
    """An app and its key prefixes (the keys themselves are never stored)."""

    id: int
    name: str
    description: str
    created_at: int
    write_key_prefixes: tuple[str, ...]
    secret_key_prefixes: tuple[str, ...]
    event_count: int


@dataclass(frozen=True)
class NewKeys:
    """Keys just created. The only moment their plain text exists."""

    app_id: int
    app_name: str
    write_key: str | None
    secret_key: str | None


@dataclass(frozen=True)
class ResolvedKey:
    """What a presented credential grants: an app key (``write``/``secret``), or a
    scoped API token (``token``, with its ``scopes``, ``name`` and expiry;
    ``eventkit.tokens``). ``key_id`` is the key's or the token's row id."""

    app_id: int
    app_name: str
    kind: Literal["write", "secret", "token"]
    key_id: int
    scopes: tuple[str, ...] = ()
    name: str = ""
    expires_at: int | None = None

    @property
    def actor(self) -> str:
        """Who acted, for audit trails: ``key:<id>`` or ``token:<name>``."""
        return f"token:{self.name}" if self.kind == "token" else f"key:{self.key_id}"


def hash_key(key: str) -> str:
    """SHA-256 of a key. Keys carry 190 random bits, so a fast hash is safe here."""
    return hashlib.sha256(key.encode()).hexdigest()


def _new_key(kind: KeyKind) -> str:
    return _PREFIX[kind] + secrets.token_urlsafe(24)


def _prefix(key: str) -> str:
    return key[: len(_PREFIX["secret"]) + 6]


def _add_key(conn: Connection, app_id: int, kind: KeyKind) -> str:
    key = _new_key(kind)
    conn.execute(
        API_KEYS.insert().values(
            app_id=app_id,
            kind=kind,
            prefix=_prefix(key),
            key_hash=hash_key(key),
            created_at=now_us(),
        )
    )
    return key


def create_app(engine: Engine, name: str, description: str = "") -> NewKeys:
    """Create an app with one write key and one secret key.

    Raises:
        InvalidRequestError: the name is not a lower-case slug.
        ConflictError: an app with that name exists.
    """
    if not _NAME.match(name):
        raise InvalidRequestError(
            f"app name {name!r} must be 1-64 characters of a-z, 0-9, '-' or '_', "
            "starting with a letter or digit"
        )
    with map_db_errors(), writer(engine).begin() as conn:
        if conn.execute(select(APPS.c.id).where(APPS.c.name == name)).first():
            raise ConflictError(f"an app named {name!r} already exists")
        app_id = conn.execute(
            APPS.insert()
            .values(name=name, description=description, created_at=now_us(), settings={})
            .returning(APPS.c.id)
        ).scalar_one()
        write_key = _add_key(conn, app_id, "write")
        secret_key = _add_key(conn, app_id, "secret")
    return NewKeys(app_id, name, write_key, secret_key)


def _app_row(conn: Connection, name: str) -> Row[Any]:
    row = conn.execute(select(APPS).where(APPS.c.name == name)).first()
    if row is None:
        raise NotFoundError(f"no app named {name!r}; `eventkit apps list` shows the apps")
    return row


def rotate_key(engine: Engine, app_name: str, kind: KeyKind, *, keep_old: bool = False) -> NewKeys:
    """Issue a new key of ``kind`` for the app and (unless ``keep_old``) revoke the old.

    Raises:
        NotFoundError: no such app.
    """
    with map_db_errors(), writer(engine).begin() as conn:
        app = _app_row(conn, app_name)
        if not keep_old:
            conn.execute(
                update(API_KEYS)
                .where(
                    API_KEYS.c.app_id == app.id,
                    API_KEYS.c.kind == kind,
                    API_KEYS.c.revoked_at.is_(None),
                )
                .values(revoked_at=now_us())
            )
        key = _add_key(conn, app.id, kind)
    return NewKeys(
        app.id, app.name, key if kind == "write" else None, key if kind == "secret" else None
    )


def _info(conn: Connection, app: Row[Any], count: bool) -> AppInfo:
    keys = conn.execute(
        select(API_KEYS.c.kind, API_KEYS.c.prefix)
        .where(API_KEYS.c.app_id == app.id, API_KEYS.c.revoked_at.is_(None))
        .order_by(API_KEYS.c.id)
    ).all()
    events = 0
    if count:
        events = conn.execute(
            select(func.count()).select_from(EVENTS).where(EVENTS.c.app_id == app.id)
        ).scalar_one()
    return AppInfo(
        id=app.id,
        name=app.name,
        description=app.description,
        created_at=app.created_at,
        write_key_prefixes=tuple(p + "…" for k, p in keys if k == "write"),
        secret_key_prefixes=tuple(p + "…" for k, p in keys if k == "secret"),
        event_count=events,
    )


def list_apps(engine: Engine, *, count_events: bool = False) -> list[AppInfo]:
    """All apps, oldest first."""
    with map_db_errors(), engine.connect() as conn:
        apps = conn.execute(select(APPS).order_by(APPS.c.id)).all()
        return [_info(conn, a, count_events) for a in apps]


def get_app(engine: Engine, name: str, *, count_events: bool = True) -> AppInfo:
    """One app by name.

    Raises:
        NotFoundError: no such app.
    """
    with map_db_errors(), engine.connect() as conn:
        return _info(conn, _app_row(conn, name), count_events)


def choose_app(engine: Engine, name: str | None) -> AppInfo:
    """The one app a command is about: ``name`` when given, else the database's only
    app. With several apps and no name this refuses, naming them, rather than guess
    (a report of zeros or an erasure in the wrong app looks like success).

    Raises:
        NotFoundError: no such app, no app at all, or several apps and no name.
    """
    if name is not None:
        return get_app(engine, name, count_events=False)
    apps = list_apps(engine)
    if len(apps) == 1:
        return apps[0]
    if not apps:
        raise NotFoundError("no apps yet: run `eventkit demo` or `eventkit apps create NAME`")
    names = ", ".join(a.name for a in apps[:10]) + (", …" if len(apps) > 10 else "")
    raise NotFoundError(
        f"this database has {len(apps)} apps ({names}): pass --app NAME to say which one"
    )


def resolve_key(engine: Engine, key: str) -> ResolvedKey | None:
    """The app and kind a key grants, or None. The hash is compared in constant time."""
    if not key.startswith(tuple(_PREFIX.values())):
        return None
    digest = hash_key(key)
    with map_db_errors(), engine.connect() as conn:
        rows = conn.execute(
            select(
                API_KEYS.c.id, API_KEYS.c.app_id, API_KEYS.c.kind, API_KEYS.c.key_hash, APPS.c.name
            )
            .join(APPS, APPS.c.id == API_KEYS.c.app_id)
            .where(API_KEYS.c.prefix == _prefix(key), API_KEYS.c.revoked_at.is_(None))
        ).all()
    found = None
    for key_id, app_id, kind, stored, app_name in rows:
        if hmac.compare_digest(stored, digest):
            found = ResolvedKey(app_id=app_id, app_name=app_name, kind=kind, key_id=key_id)
    return found
