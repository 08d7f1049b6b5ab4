"""Password hashing with scrypt (memory-hard, in the standard library) and the random
tokens of sign-in links, sessions and share links.

A stored hash names its parameters (``scrypt$N$r$p$salt$hash``), so they can be raised
later and old hashes still verify. The defaults, N=2^15, r=8, p=3 (32 MiB, about 0.4 s
on one core), are one of OWASP's recommended scrypt settings.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from functools import cache

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "check_password_strength",
    "hash_password",
    "hash_token",
    "new_password",
    "new_token",
    "verify_password",
]

_N, _R, _P = 2**15, 8, 3
_SALT_BYTES = 16
_KEY_BYTES = 32
#: Shortest password accepted when a member chooses one.
MIN_PASSWORD_LENGTH = 10
_MAX_PASSWORD_LENGTH = 1024


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, maxmem=256 * 1024**2, dklen=_KEY_BYTES
    )


def hash_password(password: str) -> str:
    """The storable scrypt hash of ``password`` (a new random salt each time)."""
    salt = secrets.token_bytes(_SALT_BYTES)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(_scrypt(password, salt, _N, _R, _P))}"


@cache
def _dummy() -> str:
    """Verified against when a name is unknown, so an answer takes as long either way
    (made on first use: importing this module must not cost a hash)."""
    return hash_password(secrets.token_urlsafe(16))


def verify_password(password: str, stored: str | None) -> bool:
    """True when ``password`` matches ``stored`` (constant-time comparison). Without a
    stored hash the work is still done, so timing does not tell a name exists."""
    if len(password) > _MAX_PASSWORD_LENGTH:
        return False
    try:
        kind, n, r, p, salt, digest = (stored or _dummy()).split("$")
        expected = _unb64(digest)
        actual = _scrypt(password, _unb64(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return stored is not None and kind == "scrypt" and hmac.compare_digest(actual, expected)


def check_password_strength(password: str, name: str) -> str | None:
    """Why ``password`` is not acceptable, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"use at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > _MAX_PASSWORD_LENGTH:
        return f"use at most {_MAX_PASSWORD_LENGTH} characters"
    if password.lower() == name.lower() or len(set(password)) < 4:
        return "choose something harder to guess"
    return None


def new_token() -> str:
    """A random URL-safe token (256 bits)."""
    return secrets.token_urlsafe(32)


def new_password() -> str:
    """A random password to hand out once (about 120 bits, easy to copy)."""
    return "-".join(secrets.token_urlsafe(6) for _ in range(3))


def hash_token(token: str) -> str:
    """The stored form of a random token: its SHA-256 (tokens are long and random,
    so a fast hash is enough, as for API keys)."""
    return hashlib.sha256(token.encode()).hexdigest()
