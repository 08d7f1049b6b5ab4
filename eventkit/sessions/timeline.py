"""Sessionization of one device's timeline: pure functions, no database.

The same functions cut a from-scratch timeline and the window the job recomputes, so
incremental results equal a from-scratch run (docs/sessions.md, "Exactness").
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from eventkit.sessions.rules import AppRules

__all__ = [
    "SESSION_NAMESPACE",
    "SessionDraft",
    "TimelineEvent",
    "absorb",
    "client_session_uuid",
    "cut",
    "cut_after",
    "fold",
    "server_session_uuid",
    "summarize",
]

#: Namespace of deterministic session ids.
SESSION_NAMESPACE = uuid.UUID("6f1d8a52-4a0c-5c1e-9a38-2f0e6b1d5e77")

SESSION_START = "$session_start"
SESSION_END = "$session_end"
APP_BACKGROUND = "$app_background"
SCREEN = "$screen"
#: Where a ``$screen`` event keeps its screen name, in order of preference.
SCREEN_KEYS = ("$screen_name", "screen_name", "screen")


def screen_of(properties: Any) -> str | None:
    """The screen name of a ``$screen`` event's properties: the first of
    :data:`SCREEN_KEYS` that is present and not null, as text (at most 200
    characters). The one definition sessions (entry/exit screens) and paths use."""
    if not isinstance(properties, dict):
        return None
    for key in SCREEN_KEYS:
        value = properties.get(key)
        if value is not None:
            return str(value)[:200]
    return None


@dataclass(slots=True)
class TimelineEvent:
    """What sessionization needs of one stored event (not frozen: built per event,
    and frozen dataclasses are slower to build)."""

    pk: int  # events.id (arrival order)
    event_key: bytes  # the 16 bytes of event_id
    ts: int
    name: str
    user_id: str | None
    anonymous_id: str | None
    platform: str | None
    app_version: str | None
    screen: str | None  # the screen name of a $screen event

    @property
    def event_id(self) -> uuid.UUID:
        """The client's event id."""
        return uuid.UUID(bytes=self.event_key)

    @property
    def order(self) -> tuple[int, bytes]:
        """Timeline order: corrected time, ties broken by event_id (arrival-independent)."""
        return (self.ts, self.event_key)


@dataclass(frozen=True, slots=True)
class SessionDraft:
    """A computed session, before it is stored."""

    id: str
    client_session_id: str | None
    user_id: str | None
    anonymous_id: str | None
    platform: str | None
    app_version: str | None
    started_at: int
    last_event_at: int
    duration_us: int
    event_count: int
    screen_count: int
    entry_screen: str | None
    exit_screen: str | None
    bounced: bool
    last_event_name: str
    first_event_pk: int
    #: The events this draft was computed from (for a folded draft: only the new ones).
    event_pks: tuple[int, ...]

    @property
    def ended_by_client(self) -> bool:
        """True when the session's last event is ``$session_end``."""
        return self.last_event_name == SESSION_END


def server_session_uuid(app_id: int, device_key: str, first: uuid.UUID) -> str:
    """The id of a server-assigned session: a function of its first event."""
    return str(uuid.uuid5(SESSION_NAMESPACE, f"{app_id}/{device_key}/{first}"))


def client_session_uuid(app_id: int, device_key: str, client_session_id: str) -> str:
    """The id of a session the client named (client ids are scoped to the device)."""
    return str(uuid.uuid5(SESSION_NAMESPACE, f"{app_id}/{device_key}/client/{client_session_id}"))


def _starts_session(
    prev_ts: int, prev_name: str, e: TimelineEvent, start: int, rules: AppRules
) -> bool:
    t = rules.for_platform(e.platform)
    gap = e.ts - prev_ts
    return (
        e.name == SESSION_START
        or prev_name == SESSION_END
        or gap > t.inactivity
        or (prev_name == APP_BACKGROUND and t.background > 0 and gap > t.background)
        or e.ts - start >= t.max_length
    )


def cut_after(
    seed: SessionDraft | None, events: Sequence[TimelineEvent], rules: AppRules
) -> tuple[list[TimelineEvent], list[list[TimelineEvent]]]:
    """Continue cutting a device's timeline after ``seed``, its latest session, whose
    last event precedes all of ``events``. Returns the events that join ``seed`` and
    the groups that start new sessions. The cut is one left-to-right scan whose only
    state is the current session's start and the previous event, so resuming from a
    stored session gives exactly what a from-scratch cut gives.
    """
    ordered = sorted(events, key=lambda e: e.order)
    joining: list[TimelineEvent] = []
    groups: list[list[TimelineEvent]] = []
    prev: tuple[int, str] | None = (seed.last_event_at, seed.last_event_name) if seed else None
    start = seed.started_at if seed else 0
    for e in ordered:
        if prev is None or _starts_session(prev[0], prev[1], e, start, rules):
            groups.append([e])
            start = e.ts
        elif groups:
            groups[-1].append(e)
        else:
            joining.append(e)
        prev = (e.ts, e.name)
    return joining, groups


def cut(events: Sequence[TimelineEvent], rules: AppRules) -> list[list[TimelineEvent]]:
    """Split a device's events without a client session id into sessions.

    A new session starts at the first event, at ``$session_start``, after
    ``$session_end``, after an inactivity gap longer than the platform's timeout,
    after ``$app_background`` followed by a gap longer than ``background_minutes``
    (when set), and when the session has lasted ``max_length_hours``.
    """
    return cut_after(None, events, rules)[1]


def summarize(
    session_id: str,
    events: Sequence[TimelineEvent],
    rules: AppRules,
    client_session_id: str | None = None,
) -> SessionDraft:
    """The session record of ``events`` (one session, any order, at least one)."""
    ordered = sorted(events, key=lambda e: e.order)
    screens = [e.screen for e in ordered if e.name == SCREEN]
    first, last = ordered[0], ordered[-1]
    duration = last.ts - first.ts
    user_ids = [e.user_id for e in ordered if e.user_id]
    return SessionDraft(
        id=session_id,
        client_session_id=client_session_id,
        user_id=user_ids[-1] if user_ids else None,
        anonymous_id=next((e.anonymous_id for e in ordered if e.anonymous_id), None),
        platform=next((e.platform for e in ordered if e.platform), None),
        app_version=next((e.app_version for e in ordered if e.app_version), None),
        started_at=first.ts,
        last_event_at=last.ts,
        duration_us=duration,
        event_count=len(ordered),
        screen_count=len(screens),
        entry_screen=screens[0] if screens else None,
        exit_screen=screens[-1] if screens else None,
        bounced=len(screens) <= 1 and duration < rules.bounce_us,
        last_event_name=last.name,
        first_event_pk=first.pk,
        event_pks=tuple(e.pk for e in ordered),
    )


#: Names whose arrival inside a session can move its cuts or its summary's screens.
_NOT_PLAIN = frozenset({SESSION_START, SESSION_END, APP_BACKGROUND, SCREEN})


def absorb(seed: SessionDraft, events: Sequence[TimelineEvent]) -> SessionDraft | None:
    """``seed`` with ``events`` that fall strictly inside it, or None when that could
    change more than the event count (then recompute the session from its events).

    Inside a session, an event can only shorten gaps and stays within its maximum
    length, so the cuts hold unless it is a lifecycle event; the summary holds unless
    it is a screen view or brings a user, device, platform or app version the session
    does not already show first/last.
    """
    for e in events:
        if not seed.started_at < e.ts < seed.last_event_at or e.name in _NOT_PLAIN:
            return None
        for mine, theirs in (
            (seed.user_id, e.user_id),
            (seed.anonymous_id, e.anonymous_id),
            (seed.platform, e.platform),
            (seed.app_version, e.app_version),
        ):
            if theirs is not None and theirs != mine:
                return None
    return replace(
        seed,
        event_count=seed.event_count + len(events),
        event_pks=seed.event_pks + tuple(e.pk for e in events),
    )


def fold(seed: SessionDraft, events: Sequence[TimelineEvent], rules: AppRules) -> SessionDraft:
    """``seed`` with ``events`` appended: all of them come after its last event
    (the seed's own ``event_pks`` are kept).

    Gives the same record as :func:`summarize` over the seed's events plus these.
    """
    if not events:
        return seed
    ordered = sorted(events, key=lambda e: e.order)
    screens = [e.screen for e in ordered if e.name == SCREEN]
    last = ordered[-1]
    duration = last.ts - seed.started_at
    screen_count = seed.screen_count + len(screens)
    user_ids = [e.user_id for e in ordered if e.user_id]
    return replace(
        seed,
        user_id=user_ids[-1] if user_ids else seed.user_id,
        anonymous_id=seed.anonymous_id
        or next((e.anonymous_id for e in ordered if e.anonymous_id), None),
        platform=seed.platform or next((e.platform for e in ordered if e.platform), None),
        app_version=seed.app_version
        or next((e.app_version for e in ordered if e.app_version), None),
        last_event_at=last.ts,
        duration_us=duration,
        event_count=seed.event_count + len(ordered),
        screen_count=screen_count,
        entry_screen=seed.entry_screen if seed.screen_count else (screens[0] if screens else None),
        exit_screen=screens[-1] if screens else seed.exit_screen,
        bounced=screen_count <= 1 and duration < rules.bounce_us,
        last_event_name=last.name,
        event_pks=seed.event_pks + tuple(e.pk for e in ordered),
    )
