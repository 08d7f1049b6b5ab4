"""A deterministic event set for release health: two platforms, a release rolling out
half-way, crashes and errors (fatal and not, with and without the flag), anonymous and
identified users, events without any id; plus late and duplicate events."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime
from typing import Any

from eventkit.capture.schema import CanonicalEvent
from eventkit.timeutil import US_PER_DAY, US_PER_SECOND, to_us

#: The data covers the 10 days before this instant.
END = to_us(datetime(2026, 5, 11, tzinfo=UTC))
DAYS = 10
START = END - DAYS * US_PER_DAY
#: The new version appears on this day (index) and crashes more on iOS.
RELEASE_DAY = 6


def event(name: str, ts: int, *, actor: str | None, anon: str | None = None,
          platform: str | None = "ios", version: str | None = "1.0",
          session: str | None = None, props: dict[str, Any] | None = None,
          received: int | None = None, rng: random.Random | None = None,
          ) -> CanonicalEvent:  # fmt: skip
    """One canonical event of app 1 (its id drawn from ``rng`` when given)."""
    eid = uuid.UUID(int=rng.getrandbits(128), version=4) if rng else uuid.uuid4()
    return CanonicalEvent(
        app_id=1, event_id=eid, name=name, timestamp=ts, sent_at=None,
        received_at=received if received is not None else ts + 5 * US_PER_SECOND, ts=ts,
        user_id=actor, anonymous_id=anon, session_id=session, platform=platform,
        app_version=version, country=None, ip=None, source="native",
        properties=props or {}, context={},
    )  # fmt: skip


def _issue(rng: random.Random, new: bool, platform: str) -> tuple[str, dict[str, Any]] | None:
    """Maybe an issue event for a session: the new iOS version crashes far more."""
    x = rng.random()
    crash_rate = 0.25 if (new and platform == "ios") else 0.04
    if x < crash_rate:
        variant = rng.random()
        if variant < 0.6:
            return "$crash", {"type": "SIGABRT", "stack_hash": f"h{rng.randrange(3)}"}
        if variant < 0.8:
            return "$error", {"type": "Fatal", "fatal": True}
        return "$crash", {"type": "ANR", "fatal": False}  # reported but survived
    if x < crash_rate + 0.15:
        return "$error", {"type": "HTTPError", "message": "timeout"}
    return None


def dataset(seed: int = 11, users: int = 40) -> list[CanonicalEvent]:
    """Sessions of ``users`` people over ``DAYS`` days."""
    rng = random.Random(seed)
    out: list[CanonicalEvent] = []
    for u in range(users):
        platform = "ios" if u % 2 else "android"
        identified = u % 3 != 0
        actor = f"user-{u}" if identified else None
        anon = f"dev-{u}"
        adopt_day = RELEASE_DAY + rng.randrange(4)
        for d in range(DAYS):
            if rng.random() < 0.35:
                continue
            for s in range(1 + rng.randrange(2)):
                ts = START + d * US_PER_DAY + rng.randrange(20 * 3600) * US_PER_SECOND
                new = d >= adopt_day
                version = ("1.1" if platform == "ios" else "2.1") if new else (
                    "1.0" if platform == "ios" else "2.0")  # fmt: skip
                sid = f"s-{u}-{d}-{s}"
                kw: dict[str, Any] = {"actor": actor, "anon": anon, "platform": platform,
                                      "version": version, "session": sid, "rng": rng}  # fmt: skip
                out.append(event("$session_start", ts, **kw))
                for k in range(1 + rng.randrange(4)):
                    out.append(event("$screen", ts + (k + 1) * 20 * US_PER_SECOND, **kw,
                                     props={"screen": "home"}))  # fmt: skip
                issue = _issue(rng, new, platform)
                if issue is not None:
                    out.append(event(issue[0], ts + 200 * US_PER_SECOND, **kw, props=issue[1]))
    # An event with no user or device (not sessionized, not a user), with a crash.
    out.append(event("$crash", START + US_PER_DAY, actor=None, anon=None))
    # Events without a version or platform.
    out.append(event("$screen", START + 2 * US_PER_DAY, actor="user-x", version=None,
                     platform=None))  # fmt: skip
    return out


def late_events() -> list[CanonicalEvent]:
    """Events that happened days ago but arrive now (new arrival ids): a crash in an
    existing session and a whole late session on the new version."""
    ts = START + (RELEASE_DAY + 1) * US_PER_DAY + 3 * 3600 * US_PER_SECOND
    kw: dict[str, Any] = {"actor": "late-user", "anon": "late-dev", "platform": "ios",
                          "version": "1.1", "session": "late-session"}  # fmt: skip
    return [
        event("$session_start", ts, **kw),
        event("$screen", ts + US_PER_SECOND, **kw),
        event("$crash", ts + 2 * US_PER_SECOND, **kw, props={"type": "SIGSEGV"}),
        # An older version seen earlier than its first event so far: first seen moves.
        event("$screen", START - 3 * US_PER_DAY, actor="early", anon="early-dev",
              platform="ios", version="1.0", session="early"),
    ]  # fmt: skip
