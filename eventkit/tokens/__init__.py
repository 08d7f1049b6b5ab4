"""Scoped API tokens for scripts (docs/security.md): what they may do (scopes) and
their storage (issue, list, revoke, resolve)."""

from eventkit.tokens.scopes import TOKEN_SCOPES, expand, grants, parse_scopes
from eventkit.tokens.store import (
    NewToken,
    ResolvedToken,
    TokenInfo,
    create_token,
    is_token,
    list_tokens,
    record_use,
    resolve_token,
    revoke_token,
)

__all__ = [
    "TOKEN_SCOPES",
    "NewToken",
    "ResolvedToken",
    "TokenInfo",
    "create_token",
    "expand",
    "grants",
    "is_token",
    "list_tokens",
    "parse_scopes",
    "record_use",
    "resolve_token",
    "revoke_token",
]
