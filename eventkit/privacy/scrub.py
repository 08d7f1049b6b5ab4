"""Property scrubbing: drop or hash values whose key matches a pattern.

A rule is ``PATTERN=drop`` or ``PATTERN=hash``. The pattern is a shell-style glob
(``*``, ``?``, ``[...]``) matched case-insensitively against every key at any depth of
``properties`` and ``context`` (so ``email`` also matches ``$set.email`` of an identify
call). ``hash`` replaces the value with ``"sha256:"`` and 32 hex digits of an HMAC of
its JSON text (key: ``privacy.hash_key`` and the app id): equal values stay equal, so
distinct counts and joins still work.

Most events match no rule: a rule whose literal parts do not all occur in the raw JSON
text cannot match, so such events are never decoded.
"""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Any, Literal

import msgspec

from eventkit.errors import InvalidRequestError

__all__ = ["ScrubRule", "Scrubber", "parse_rule"]

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


@dataclass(frozen=True)
class ScrubRule:
    """One rule: keys matching ``pattern`` are dropped or hashed."""

    pattern: str
    action: Literal["drop", "hash"]

    @property
    def literals(self) -> list[bytes]:
        """The parts of the pattern every matching key contains (lower case)."""
        parts = re.split(r"[*?]|\[[^\]]*\]", self.pattern.lower())
        return [p.encode() for p in parts if p]


def parse_rule(text: str) -> ScrubRule:
    """``PATTERN=drop|hash`` as a rule.

    Raises:
        InvalidRequestError: the text is not a rule.
    """
    pattern, _, action = text.rpartition("=")
    if not pattern or action not in ("drop", "hash"):
        raise InvalidRequestError(
            f"scrub rule {text!r} must be PATTERN=drop or PATTERN=hash, e.g. '*email*=hash'"
        )
    return ScrubRule(pattern.lower(), "drop" if action == "drop" else "hash")


class Scrubber:
    """Applies a list of rules (the first matching rule wins)."""

    def __init__(self, rules: list[ScrubRule], secret: str) -> None:
        self.rules = rules
        self.secret = secret
        self._regex = [re.compile(fnmatch.translate(r.pattern)) for r in rules]
        # One C-level search decides whether an event may hold a matching key: the
        # longest literal of each rule, or an escape that could spell one.
        longest = [max(r.literals, key=len) for r in rules if r.literals]
        self._always = len(longest) < len(rules)  # a rule like "*" matches any key
        self._candidates = re.compile(
            b"|".join([re.escape(b"\\u"), *(re.escape(lit) for lit in longest)])
        )
        self._keys: dict[int, bytes] = {}
        self._match: dict[str, ScrubRule | None] = {}

    def might_match(self, raw: bytes) -> bool:
        """False when no rule can match a key of this JSON text (cheap: no decoding)."""
        return self._always or self._candidates.search(raw.lower()) is not None

    def _rule(self, key: str) -> ScrubRule | None:
        hit = self._match.get(key, False)
        if hit is not False:
            return hit  # type: ignore[return-value]
        low = key.lower()
        found = next(
            (r for r, rx in zip(self.rules, self._regex, strict=True) if rx.match(low)), None
        )
        if len(self._match) < 10_000:
            self._match[key] = found
        return found

    def hash_value(self, app_id: int, value: Any) -> str:
        """The hashed form of a value."""
        key = self._keys.get(app_id)
        if key is None:
            key = self._keys[app_id] = f"{self.secret}:{app_id}".encode()
        digest = hmac.new(key, _encode(value), hashlib.sha256).hexdigest()
        return "sha256:" + digest[:32]

    def _walk(self, app_id: int, node: Any) -> tuple[Any, bool]:
        if isinstance(node, dict):
            out: dict[str, Any] = {}
            changed = False
            for k, v in node.items():
                rule = self._rule(k)
                if rule is None:
                    v2, c = self._walk(app_id, v)
                    out[k] = v2
                    changed |= c
                elif rule.action == "hash":
                    out[k] = self.hash_value(app_id, v)
                    changed = True
                else:
                    changed = True
            return (out, True) if changed else (node, False)
        if isinstance(node, list):
            items = [self._walk(app_id, v) for v in node]
            if any(c for _, c in items):
                return [v for v, _ in items], True
            return node, False
        return node, False

    def apply(self, app_id: int, value: dict[str, Any] | msgspec.Raw) -> dict[str, Any] | None:
        """The scrubbed object, or None when nothing matched (keep the original)."""
        if isinstance(value, msgspec.Raw):
            raw = bytes(value)
            if not self.might_match(raw):
                return None
            value = _decode(raw)
            if not isinstance(value, dict):
                return None
        out, changed = self._walk(app_id, value)
        return out if changed else None
