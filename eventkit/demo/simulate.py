"""Simulated mobile traffic: iOS and Android users with app versions and countries,
sessions of ``$screen`` views and actions, a signup → onboarding → purchase funnel and
retention that decays with time since first seen.

Everything is drawn from one ``random.Random(seed)``: the same config writes the same
events (same ids) every time. Events go through :class:`EventStore.write` in large
batches (dedup, profile updates) exactly as the capture pipeline stores them.
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import msgspec

from eventkit.capture.schema import CanonicalEvent
from eventkit.storage.events import EventStore
from eventkit.storage.users import ProfileOp
from eventkit.timeutil import US_PER_DAY, US_PER_SECOND, now_us

__all__ = [
    "AFTER_FAILURE",
    "FUNNEL",
    "SCREENS",
    "SimUser",
    "Simulation",
    "SimulationConfig",
    "simulate",
]

_US_PER_HOUR = 3600 * US_PER_SECOND

#: The demo funnel, in order.
FUNNEL = ("signup_completed", "onboarding_completed", "purchase_completed")
SCREENS = ("home", "feed", "search", "product", "cart", "settings", "profile")
_ACTIONS = ("button_tapped", "item_viewed", "search_performed", "item_shared")
_VERSIONS = {"ios": ("3.2.0", "3.3.0", "3.4.1"), "android": ("3.2.1", "3.3.0", "3.4.0")}
_COUNTRIES = (("US", 30), ("GB", 10), ("DE", 10), ("FR", 8), ("IN", 15), ("BR", 10),
              ("JP", 7), ("CA", 5), ("AU", 5))  # fmt: skip
#: Where people go after a failed payment, with weights.
AFTER_FAILURE = (("payment_error", 5), ("cart", 4), ("home", 2), ("support", 2),
                 ("settings", 1))  # fmt: skip
_FAIL_REASONS = ("card_declined", "insufficient_funds", "network_error")
_SCREEN_PROPS = {
    s: msgspec.Raw(msgspec.json.encode({"screen_name": s}))
    for s in (*SCREENS, *(name for name, _ in AFTER_FAILURE))
}
_EMPTY = msgspec.Raw(b"{}")


@dataclass(frozen=True)
class SimUser:
    """One simulated person and device."""

    index: int
    anonymous_id: str
    user_id: str | None
    platform: str
    country: str
    first_day: int
    engagement: float


#: Hook for experiments: returns a multiplier on a user's purchase probability (and
#: may be used to assign a variant). The flags/experiments feature plugs in here.
PurchaseHook = Callable[[SimUser], float]


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate. ``end`` (epoch µs) is the last instant; by default the start
    of the current UTC hour, so that the same seed run again within the hour makes the
    very same events (ids *and* timestamps: deduplication keys an event by both)."""

    users: int = 1000
    days: int = 30
    seed: int = 42
    end: int | None = None
    max_events: int | None = None
    batch_size: int = 20_000
    purchase_hook: PurchaseHook | None = None
    #: Called with a user and an instant in their first session: an event to add there
    #: (the demo experiment's flag exposure), or None.
    exposure_hook: Callable[[SimUser, int], CanonicalEvent | None] | None = None
    #: Add failed payments (``payment_failed`` with a reason and an amount, then the
    #: screens people go to next). Drawn from a random stream of its own, so every
    #: other event stays the same with it on or off.
    checkout: bool = False
    #: Called with a user, an instant and the version the simulation picked: the
    #: version to use instead (the demo's new release rolling out).
    version_hook: Callable[[SimUser, int, str], str] | None = None
    #: Called once per session with the user, the session id and its version: events
    #: (name, properties) to add at its end (``$error``, ``$crash``; a fatal crash
    #: replaces the ``$session_end``).
    issue_hook: Callable[[SimUser, str, str], list[tuple[str, dict[str, Any]]]] | None = None


@dataclass
class Simulation:
    """Counters of a finished (or running) simulation."""

    events: int = 0
    users: int = 0
    stored: int = 0
    identified: set[str] = field(default_factory=set)


class _Generator:
    def __init__(self, app_id: int, cfg: SimulationConfig) -> None:
        self.app_id = app_id
        self.cfg = cfg
        self.rng = random.Random(cfg.seed)
        end = cfg.end if cfg.end is not None else now_us() // _US_PER_HOUR * _US_PER_HOUR
        self.start = end - cfg.days * US_PER_DAY
        self.end = end
        names, weights = zip(*_COUNTRIES, strict=True)
        self.countries, self.weights = list(names), list(weights)

    def user(self, i: int) -> SimUser:
        r = self.rng
        platform = "ios" if r.random() < 0.55 else "android"
        signs_up = r.random() < 0.6
        return SimUser(
            index=i,
            anonymous_id=f"dev-{i:07d}",
            user_id=f"user-{i:07d}" if signs_up else None,
            platform=platform,
            country=r.choices(self.countries, self.weights)[0],
            first_day=r.randrange(self.cfg.days),
            engagement=0.3 + 0.7 * r.random(),
        )

    def _event(
        self, u: SimUser, name: str, ts: int, props: msgspec.Raw, ctx: msgspec.Raw, sid: str,
        rng: random.Random | None = None,
    ) -> CanonicalEvent:  # fmt: skip
        source = rng or self.rng
        return CanonicalEvent(
            app_id=self.app_id,
            event_id=uuid.UUID(int=source.getrandbits(128), version=4),
            name=name,
            timestamp=ts,
            sent_at=None,
            received_at=ts + 2 * US_PER_SECOND,
            ts=ts,
            user_id=u.user_id,
            anonymous_id=u.anonymous_id,
            session_id=sid,
            platform=u.platform,
            app_version=self._version(u, ts),
            country=u.country,
            ip=None,
            source="native",
            properties=props,
            context=ctx,
        )

    def _version(self, u: SimUser, ts: int) -> str:
        # Newer versions roll out over the simulated period.
        versions = _VERSIONS[u.platform]
        frac = (ts - self.start) / max(1, self.end - self.start)
        version = versions[min(len(versions) - 1, int(frac * len(versions) + (u.index % 3) / 6))]
        return self.cfg.version_hook(u, ts, version) if self.cfg.version_hook else version

    def _issues(
        self, u: SimUser, ts: int, ctx: msgspec.Raw, sid: str
    ) -> tuple[list[CanonicalEvent], int, bool]:
        """The issue hook's events for a session ending at ``ts``; whether it crashed."""
        if self.cfg.issue_hook is None:
            return [], ts, False
        out, crashed = [], False
        for name, props in self.cfg.issue_hook(u, sid, self._version(u, ts)):
            ts += 3 * US_PER_SECOND
            raw = msgspec.Raw(msgspec.json.encode(props))
            out.append(self._event(u, name, ts, raw, ctx, sid))
            crashed = crashed or (name == "$crash" and props.get("fatal") is not False)
        return out, ts, crashed

    def _failure(
        self, u: SimUser, ts: int, ctx: msgspec.Raw, sid: str, day: int, session: int
    ) -> Iterator[CanonicalEvent]:
        """Sometimes a failed payment and the screens after it (its own random stream;
        event ids from it too, so the main stream is untouched)."""
        r = random.Random(f"{self.cfg.seed}/checkout/{u.index}/{day}/{session}")
        if r.random() >= 0.08:
            return
        ts += int((10 + r.random() * 60) * US_PER_SECOND)
        amount = round(5 + r.random() * 95, 2)
        props = {"reason": r.choice(_FAIL_REASONS), "amount": amount, "currency": "USD"}
        yield self._event(u, "payment_failed", ts, msgspec.Raw(msgspec.json.encode(props)),
                          ctx, sid, r)  # fmt: skip
        names = [n for n, _ in AFTER_FAILURE]
        weights = [float(w) for _, w in AFTER_FAILURE]
        for _ in range(r.randrange(0, 4)):
            ts += int((3 + r.random() * 40) * US_PER_SECOND)
            screen = r.choices(names, weights)[0]
            yield self._event(u, "$screen", ts, _SCREEN_PROPS[screen], ctx, sid, r)

    def events(self, u: SimUser) -> Iterator[tuple[CanonicalEvent, ProfileOp | None]]:
        """Every event of one user, in time order, with the identify of a signup."""
        r = self.rng
        ctx = msgspec.Raw(msgspec.json.encode({"os": {"name": u.platform}}))
        multiplier = self.cfg.purchase_hook(u) if self.cfg.purchase_hook else 1.0
        onboarded = False
        exposed = self.cfg.exposure_hook is None
        for d in range(u.first_day, self.cfg.days):
            age = d - u.first_day
            p = 1.0 if age == 0 else u.engagement * (0.1 + 0.5 * math.exp(-age / 6))
            if r.random() >= p:
                continue
            day0 = self.start + d * US_PER_DAY
            for s in range(1 + int(r.random() * 2.2)):
                ts = day0 + int(r.random() * (US_PER_DAY - 3600 * US_PER_SECOND))
                if ts >= self.end:
                    continue
                sid = f"s-{u.index}-{d}-{s}"
                yield self._event(u, "$session_start", ts, _EMPTY, ctx, sid), None
                if not exposed and self.cfg.exposure_hook is not None:
                    exposed = True
                    ts += US_PER_SECOND
                    exposure = self.cfg.exposure_hook(u, ts)
                    if exposure is not None:
                        yield exposure, None
                if age == 0 and s == 0 and u.user_id is not None:
                    ts += int(r.random() * 60 * US_PER_SECOND)
                    e = self._event(u, FUNNEL[0], ts, _EMPTY, ctx, sid)
                    op = ProfileOp(
                        app_id=self.app_id, user_id=u.user_id, event_id=e.event_id, at=ts,
                        anonymous_id=u.anonymous_id,
                        set={"platform": u.platform, "country": u.country},
                    )  # fmt: skip
                    yield e, op
                    if r.random() < 0.7:
                        onboarded = True
                        ts += int((30 + r.random() * 300) * US_PER_SECOND)
                        yield self._event(u, FUNNEL[1], ts, _EMPTY, ctx, sid), None
                for _ in range(2 + int(r.random() * 7)):
                    ts += int((5 + r.random() * 60) * US_PER_SECOND)
                    screen = SCREENS[int(r.random() ** 1.5 * len(SCREENS))]
                    yield self._event(u, "$screen", ts, _SCREEN_PROPS[screen], ctx, sid), None
                    if r.random() < 0.5:
                        ts += int((1 + r.random() * 20) * US_PER_SECOND)
                        action = _ACTIONS[int(r.random() * len(_ACTIONS))]
                        yield self._event(u, action, ts, _EMPTY, ctx, sid), None
                if self.cfg.checkout and onboarded:
                    for e in self._failure(u, ts, ctx, sid, d, s):
                        ts = e.ts
                        yield e, None
                if onboarded and r.random() < 0.12 * multiplier:
                    ts += int((10 + r.random() * 120) * US_PER_SECOND)
                    amount = round(5 + r.random() * 95, 2)
                    props = msgspec.Raw(msgspec.json.encode({"amount": amount, "currency": "USD"}))
                    yield self._event(u, FUNNEL[2], ts, props, ctx, sid), None
                ts += int((5 + r.random() * 30) * US_PER_SECOND)
                issues, ts, crashed = self._issues(u, ts, ctx, sid)
                for issue in issues:
                    yield issue, None
                if not crashed:
                    yield self._event(u, "$session_end", ts, _EMPTY, ctx, sid), None


def simulate(
    store: EventStore,
    app_id: int,
    cfg: SimulationConfig,
    *,
    progress: Callable[[Simulation], None] | None = None,
) -> Simulation:
    """Generate the configured traffic and write it through ``store`` in batches."""
    gen = _Generator(app_id, cfg)
    sim = Simulation()
    batch: list[CanonicalEvent] = []
    ops: list[ProfileOp] = []

    def flush() -> None:
        if batch:
            sim.stored += sum(store.write(batch, ops))
            batch.clear()
            ops.clear()
            if progress is not None:
                progress(sim)

    for i in range(cfg.users):
        if cfg.max_events is not None and sim.events >= cfg.max_events:
            break
        u = gen.user(i)
        sim.users += 1
        if u.user_id:
            sim.identified.add(u.user_id)
        for event, op in gen.events(u):
            batch.append(event)
            sim.events += 1
            if op is not None:
                ops.append(op)
            if len(batch) >= cfg.batch_size:
                flush()
    flush()
    return sim
