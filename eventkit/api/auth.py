"""API-key authentication. Keys are resolved against hashed storage, cached briefly."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Mapping

from litestar import Request
from sqlalchemy.engine import Engine

from eventkit.api.limits import Limiter, client_address
from eventkit.errors import AuthError, DatabaseUnavailableError, PermissionDeniedError
from eventkit.storage.apps import KeyKind, ResolvedKey, hash_key, resolve_key

__all__ = [
    "KeyCache",
    "authenticate",
    "check_key",
    "key_in_headers",
    "presented_key",
    "require_key",
]

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
            found = await asyncio.to_thread(resolve_key, self.engine, key)
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
        raise AuthError(unknown)
    return found


async def require_key(request: Request, kind: KeyKind) -> ResolvedKey:  # type: ignore[type-arg]
    """Authenticate the request with a key of ``kind`` (see :func:`authenticate`).

    A secret key may do everything a write key may; a write key may only capture and
    evaluate flags.

    Raises:
        TooManyAuthFailuresError: this address failed too often recently (429).
        AuthError: no key, or an unknown/revoked one (401).
        PermissionDeniedError: a write key where a secret key is needed (403).
    """
    found = await authenticate(request, presented_key(request))
    if kind == "secret" and found.kind != "secret":
        raise PermissionDeniedError("this endpoint needs the app's secret key, not its write key")
    return found
