"""Deterministic, stable bucketing (docs/feature_flags.md, "Bucketing").

``bucket(salt, key, purpose, id)`` is the first 8 bytes of
``SHA-256("{salt}:{key}:{purpose}:{id}")`` read as a big-endian unsigned integer and
divided by 2**64: a number in [0, 1) that depends only on its inputs. An id is in a
rollout of ``p`` percent when ``bucket(..., "rollout", id) * 100 < p``, so raising ``p``
only ever adds ids. Variants are picked with an independent hash (purpose
``"variant"``) against cumulative weights, so a rollout change never moves a user
between variants.
"""

from __future__ import annotations

from hashlib import sha256

__all__ = ["bucket", "pick"]

_SCALE = float(1 << 64)


def bucket(salt: str, key: str, purpose: str, bucketing_id: str) -> float:
    """The position of ``bucketing_id`` in [0, 1) for this flag and purpose."""
    digest = sha256(f"{salt}:{key}:{purpose}:{bucketing_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / _SCALE


def pick(position: float, cumulative: tuple[float, ...]) -> int:
    """Index of the first cumulative weight share above ``position`` (shares end at 1)."""
    for i, edge in enumerate(cumulative):
        if position < edge:
            return i
    return len(cumulative) - 1
