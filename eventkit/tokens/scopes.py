"""Scopes: what a credential may do. Every route names the one scope it needs
(docs/security.md has the table of every endpoint).

- A scoped API token grants exactly its scopes (``admin`` grants every scope;
  ``flags:write`` also grants ``flags:read``).
- An app's secret key grants ``admin``: it keeps working everywhere it did.
- An app's write key grants ``capture`` only (sending events, evaluating flags): it
  is shipped inside apps, so it must never read data.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, get_args

from eventkit.errors import InvalidRequestError

__all__ = [
    "ALL_SCOPES",
    "TOKEN_SCOPES",
    "Scope",
    "TokenScope",
    "expand",
    "format_scopes",
    "grants",
    "parse_scopes",
]

#: Scopes a token may be issued with.
TokenScope = Literal[
    "events:read", "reports:read", "query:read", "flags:read", "flags:write", "admin"
]
#: Every scope a route may require: the token scopes plus ``capture`` (write keys).
Scope = Literal[
    "capture", "events:read", "reports:read", "query:read", "flags:read", "flags:write", "admin"
]
TOKEN_SCOPES: tuple[TokenScope, ...] = get_args(TokenScope)
ALL_SCOPES: tuple[Scope, ...] = get_args(Scope)

#: What each scope implies beyond itself.
_IMPLIES: dict[str, frozenset[str]] = {
    "admin": frozenset(ALL_SCOPES),
    "flags:write": frozenset({"flags:read"}),
}


def expand(scopes: Iterable[str]) -> frozenset[str]:
    """Every scope granted by ``scopes``, implications included."""
    out: set[str] = set()
    for s in scopes:
        out.add(s)
        out |= _IMPLIES.get(s, frozenset())
    return frozenset(out)


def grants(held: Iterable[str], needed: str) -> bool:
    """Whether a credential holding ``held`` may do what needs ``needed``."""
    return needed in expand(held)


def parse_scopes(text: str | Iterable[str]) -> tuple[TokenScope, ...]:
    """``reports:read,query:read`` (or a list) as a sorted tuple of known scopes.

    Raises:
        InvalidRequestError: empty, or a scope eventkit does not know.
    """
    items = text.split(",") if isinstance(text, str) else list(text)
    names = sorted({s.strip() for s in items if s.strip()})
    if not names:
        raise InvalidRequestError(
            f"give at least one scope: --scope with one or more of {', '.join(TOKEN_SCOPES)}"
        )
    unknown = [n for n in names if n not in TOKEN_SCOPES]
    if unknown:
        raise InvalidRequestError(
            f"unknown scope {unknown[0]!r}: use one or more of {', '.join(TOKEN_SCOPES)}, "
            "comma-separated"
        )
    return tuple(n for n in names if n in TOKEN_SCOPES)


def format_scopes(scopes: Iterable[str]) -> str:
    """Scopes as stored and shown: sorted, comma-separated."""
    return ",".join(sorted(set(scopes)))
