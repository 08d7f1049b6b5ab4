"""Flag evaluation against ``POST /v1/flags/evaluate`` with a cached ETag.

The answer for a given request is kept with its ETag; the next call for the same
request sends ``If-None-Match`` and a 304 reuses the cached flags (no body to parse).
If the server cannot be reached, the last known flags are served.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx

__all__ = ["FlagCache", "FlagError"]


class FlagError(Exception):
    """Flags could not be evaluated and nothing was cached for this request."""


class FlagCache:
    """Evaluates flags over HTTP, remembering one ``(etag, flags)`` per request."""

    def __init__(self, http: httpx.Client, max_entries: int = 1000) -> None:
        self._http = http
        self._max = max_entries
        self._cache: dict[str, tuple[str, dict[str, Any]]] = {}
        self._lock = threading.Lock()
        #: Responses answered 304 (for tests and monitoring).
        self.not_modified = 0

    def evaluate(
        self,
        *,
        user_id: str | None = None,
        anonymous_id: str | None = None,
        attributes: dict[str, Any] | None = None,
        context: dict[str, Any] | None = None,
        flags: list[str] | None = None,
    ) -> dict[str, dict[str, Any]]:
        """Every flag (or ``flags``) for this user: ``{key: {value, variant, reason}}``.

        Raises:
            FlagError: the server refused the request or is unreachable with nothing
                cached for it.
        """
        body: dict[str, Any] = {"attributes": attributes or {}, "context": context or {}}
        if user_id is not None:
            body["user_id"] = user_id
        if anonymous_id is not None:
            body["anonymous_id"] = anonymous_id
        if flags is not None:
            body["flags"] = flags
        text = json.dumps(body, sort_keys=True)
        with self._lock:
            cached = self._cache.get(text)
        headers = {"If-None-Match": cached[0]} if cached else {}
        try:
            resp = self._http.post("/v1/flags/evaluate", content=text, headers=headers)
        except httpx.TransportError as exc:
            if cached:
                return cached[1]
            raise FlagError(f"cannot reach eventkit: {exc}") from exc
        if resp.status_code == 304 and cached:
            self.not_modified += 1
            return cached[1]
        if resp.status_code != 200:
            if cached and resp.status_code >= 500:
                return cached[1]
            raise FlagError(f"HTTP {resp.status_code}: {resp.text[:300]}")
        result: dict[str, dict[str, Any]] = resp.json()["flags"]
        etag = resp.headers.get("etag")
        if etag:
            with self._lock:
                if len(self._cache) >= self._max:
                    self._cache.pop(next(iter(self._cache)))
                self._cache[text] = (etag, result)
        return result

    def value(self, key: str, default: Any = None, **who: Any) -> Any:
        """One flag's value for the user described by ``who`` (see :meth:`evaluate`),
        or ``default`` when the flag is unknown or failed."""
        try:
            got = self.evaluate(**who).get(key)
        except FlagError:
            return default
        if not got or got.get("error"):
            return default
        return got.get("value", default)
