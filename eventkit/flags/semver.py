"""Semantic versions as mobile apps write them: ``2``, ``2.3``, ``2.3.1``, ``2.3.1-beta.2``.

Missing parts count as 0; a pre-release sorts before its release (SemVer 2.0 rules for
the pre-release identifiers); build metadata (``+123``) is ignored.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["Version", "parse_version"]

_VERSION = re.compile(
    r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+.*)?$"
)

#: (major, minor, patch, micro, is_release, pre-release key)
Version = tuple[int, int, int, int, int, tuple[tuple[int, int, str], ...]]


def _pre_key(pre: str) -> tuple[tuple[int, int, str], ...]:
    # Numeric identifiers sort numerically and before alphanumeric ones.
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))


@lru_cache(maxsize=4096)
def parse_version(text: str) -> Version | None:
    """A sortable key for ``text``, or None when it is not a version."""
    m = _VERSION.match(text.strip())
    if m is None:
        return None
    major, minor, patch, micro, pre = m.groups()
    return (
        int(major),
        int(minor or 0),
        int(patch or 0),
        int(micro or 0),
        0 if pre else 1,
        _pre_key(pre) if pre else (),
    )
