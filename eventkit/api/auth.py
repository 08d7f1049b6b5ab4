"""Authentication of app keys and scoped API tokens, resolved against hashed storage and
cached briefly, and the scope check every route makes (docs/security.md).

An app's write key grants ``capture``; its secret key grants everything (``admin``); a
token grants its scopes (``eventkit.tokens.scopes``)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Mapping

from litestar import Request
from sqlalchemy.engine import Engine

from eventkit.api.limits import Limiter, client_address
from eventkit.errors import AuthError, DatabaseUnavailableError, PermissionDeniedError
from eventkit.storage.apps import KeyKind, ResolvedKey, hash_key, resolve_key
from eventkit.timeutil import from_us, now_us
from eventkit.tokens import is_token, record_use, resolve_token
from eventkit.tokens.scopes import Scope, grants

__all__ = [
    "KeyCache",
    "authenticate",
    "check_key",
    "check_scope",
    "granted",
    "key_in_headers",
    "presented_key",
    "require_key",
    "require_scope",
]

log = logging.getLogger("eventkit.api")

_TTL_OK = 30.0
_TTL_BAD = 5.0
_MAX = 10_000


class KeyCache:
    """Maps a key's hash to what it grants, for ``_TTL_OK`` seconds (rotation and
    revocation take effect within that time). While the database is unreachable an
    expired entry keeps answering, so capture into the spool continues."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._cache: OrderedDict[str, tuple[float, ResolvedKey | None]] = OrderedDict()

    async def resolve(self, key: str) -> ResolvedKey | None:
        """What ``key`` grants, or None for an unknown or revoked key."""
        digest = hash_key(key)
        hit = self._cache.get(digest)
        now = time.monotonic()
        if hit is not None and hit[0] > now:
            return hit[1]
        try:
            found = await asyncio.to_thread(self._lookup, key)
        except DatabaseUnavailableError:
            if hit is None:
                raise
            # The database is away (the spool keeps capture going): a key known a
            # moment ago still grants what it granted, until the database answers.
            return hit[1]
        self._cache[digest] = (now + (_TTL_OK if found else _TTL_BAD), found)
        self._cache.move_to_end(digest)
        while len(self._cache) > _MAX:
            self._cache.popitem(last=False)
        return found

    def _lookup(self, key: str) -> ResolvedKey | None:
        """A key or a token from the database (in a worker thread)."""
        if not is_token(key):
            return resolve_key(self.engine, key)
        token = resolve_token(self.engine, key)
        if token is None:
            return None
        if token.stale_use:  # at most once a minute; a failure is only logged
            record_use(self.engine, token.token_id)
        return ResolvedKey(
            app_id=token.app_id, app_name=token.app_name, kind="token", key_id=token.token_id,
            scopes=token.scopes, name=token.name, expires_at=token.expires_at,
        )  # fmt: skip


def presented_key(request: Request) -> str | None:  # type: ignore[type-arg]
    """The key from ``Authorization: Bearer``, ``X-Eventkit-Key``, or Basic auth user."""
    return key_in_headers(request.headers)


def key_in_headers(headers: Mapping[str, str]) -> str | None:
    """``presented_key`` of a request's headers (lower-case names)."""
    header = headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        if scheme.lower() == "basic" and value.strip():
            import base64
            import binascii

            try:
                user = base64.b64decode(value.strip()).decode().split(":", 1)[0]
            except (binascii.Error, UnicodeDecodeError):
                return None
            return user or None
    return headers.get("x-eventkit-key") or None


#: Answers for a missing and an unknown key on the native API.
_MISSING = "missing API key: send it as 'Authorization: Bearer <key>' or 'X-Eventkit-Key: <key>'"
_UNKNOWN = (
    "unknown or revoked API key; `eventkit apps show <app>` lists the active key "
    "prefixes and `eventkit keys rotate` issues new keys"
)


async def authenticate(
    request: Request,  # type: ignore[type-arg]
    key: str | None,
    *,
    missing: str = _MISSING,
    unknown: str = _UNKNOWN,
) -> ResolvedKey:
    """What ``key`` grants, under the client address's failed-auth limit: every missing
    or unknown key counts against it (any protocol).

    Raises:
        TooManyAuthFailuresError: this address failed too often recently (429).
        AuthError: no key (``missing``), or an unknown/revoked one (``unknown``) (401).
    """
    state = request.app.state
    return await check_key(
        state.limiter, state.key_cache, client_address(request), key, missing, unknown
    )


async def check_key(
    limiter: Limiter,
    cache: KeyCache,
    address: str | None,
    key: str | None,
    missing: str = _MISSING,
    unknown: str = _UNKNOWN,
) -> ResolvedKey:
    """``authenticate`` without a Litestar request (the capture fast path)."""
    limiter.check_address(address)
    if not key:
        limiter.auth_failed(address)
        raise AuthError(missing)
    found = await cache.resolve(key)
    if found is None:
        limiter.auth_failed(address)
        if is_token(key):
            raise AuthError(
                "unknown or revoked token; `eventkit tokens list --app <app>` shows the "
                "active tokens and `eventkit tokens create` issues one"
            )
        raise AuthError(unknown)
    return found


def granted(found: ResolvedKey, scope: Scope) -> bool:
    """Whether the credential may do what needs ``scope``."""
    if found.kind == "secret":
        return True
    if found.kind == "write":
        return scope == "capture"
    return grants(found.scopes, scope)


def check_scope(found: ResolvedKey, scope: Scope) -> ResolvedKey:
    """``found`` if it grants ``scope`` and has not expired.

    Raises:
        AuthError: an expired token (401).
        PermissionDeniedError: the credential lacks the scope (403).
    """
    if found.kind == "token" and found.expires_at is not None and found.expires_at <= now_us():
        when = from_us(found.expires_at).isoformat(timespec="seconds")
        raise AuthError(
            f"the token {found.name!r} expired at {when}: issue a new one with "
            "`eventkit tokens create`"
        )
    if not granted(found, scope):
        if found.kind == "write":
            raise PermissionDeniedError(
                f"this endpoint needs the {scope} scope: a token with it or the app's secret "
                "key, not its write key"
            )
        held = ",".join(found.scopes) if found.kind == "token" else found.kind
        raise PermissionDeniedError(
            f"this endpoint needs the {scope} scope; this credential has {held} "
            "(`eventkit tokens create … --scope " + scope + "` issues one that does)"
        )
    return found


async def require_scope(request: Request, scope: Scope) -> ResolvedKey:  # type: ignore[type-arg]
    """Authenticate the request (see :func:`authenticate`) and check ``scope``.

    Raises:
        TooManyAuthFailuresError: this address failed too often recently (429).
        AuthError: no credential, an unknown, revoked or expired one (401).
        PermissionDeniedError: a credential without the scope (403).
    """
    return check_scope(await authenticate(request, presented_key(request)), scope)


async def require_key(request: Request, kind: KeyKind) -> ResolvedKey:  # type: ignore[type-arg]
    """Authenticate the request with a key of ``kind`` (see :func:`authenticate`).

    ``write`` is the ``capture`` scope, ``secret`` the ``admin`` scope
    (:func:`require_scope`).

    Raises:
        TooManyAuthFailuresError: this address failed too often recently (429).
        AuthError: no key, or an unknown/revoked one (401).
        PermissionDeniedError: a write key where a secret key is needed (403).
    """
    return await require_scope(request, "capture" if kind == "write" else "admin")
