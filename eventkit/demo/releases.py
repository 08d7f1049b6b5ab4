"""Crashes, errors and a bad release in the demo data.

Every version crashes now and then (``BASE_CRASH_RATE`` of sessions) and reports a
handled error more often. Two days before the end, iOS version ``RELEASE`` ships and
is adopted over the following hours; it crashes in ``RELEASE_CRASH_RATE`` of its
sessions, so its crash-free users drop well below the older versions' ~99%. A rule
with the defaults catches it::

    eventkit alerts create crash-free --app demo --metric crash_free_users --below 98 \\
        --email team@example.com

Randomness comes from a ``random.Random`` per session id, so the simulation's own
stream (and every other demo figure) is unchanged by these hooks.
"""

from __future__ import annotations

import random
from typing import Any

from eventkit.demo.simulate import SimUser
from eventkit.timeutil import US_PER_DAY, US_PER_HOUR

__all__ = ["BASE_CRASH_RATE", "RELEASE", "RELEASE_CRASH_RATE", "DemoRelease"]

RELEASE = "3.5.0"
RELEASE_PLATFORM = "ios"
BASE_CRASH_RATE = 0.004
RELEASE_CRASH_RATE = 0.09
ERROR_RATE = 0.03
_STACKS = ("a41f0c2e9b7d1035", "5e0b3d9c77a1f2c8", "c9d2e1f0a3b4c5d6")


class DemoRelease:
    """The hooks :class:`~eventkit.demo.SimulationConfig` calls."""

    def __init__(self, end: int, *, release_days_before_end: float = 2.0) -> None:
        self.release_at = end - int(release_days_before_end * US_PER_DAY)

    def _adopts_at(self, u: SimUser) -> int | None:
        """When this user's phone updates (None: not within the data): spread over the
        first ~30 hours after the release, and a fifth never does."""
        r = random.Random(f"adopt-{u.index}")
        if r.random() < 0.2:
            return None
        return self.release_at + int(r.expovariate(1 / 10) * US_PER_HOUR)

    def version(self, u: SimUser, ts: int, version: str) -> str:
        """The release replaces the iOS version once this user has updated."""
        if u.platform != RELEASE_PLATFORM:
            return version
        at = self._adopts_at(u)
        return RELEASE if at is not None and ts >= at else version

    def issues(self, u: SimUser, sid: str, version: str) -> list[tuple[str, dict[str, Any]]]:
        """The ``$error``/``$crash`` events of one session (a crash ends it)."""
        r = random.Random(f"issues-{sid}")
        out: list[tuple[str, dict[str, Any]]] = []
        if r.random() < ERROR_RATE:
            out.append(("$error", {"type": "NetworkError", "message": "request timed out",
                                   "fatal": False, "handled": True}))  # fmt: skip
        rate = RELEASE_CRASH_RATE if version == RELEASE else BASE_CRASH_RATE
        if r.random() < rate:
            kind = "EXC_BAD_ACCESS" if u.platform == "ios" else "java.lang.NullPointerException"
            stack = _STACKS[0] if version == RELEASE else r.choice(_STACKS[1:])
            out.append(("$crash", {"type": kind, "message": "crash in FeedViewController",
                                   "fatal": True, "stack_hash": stack}))  # fmt: skip
        return out
