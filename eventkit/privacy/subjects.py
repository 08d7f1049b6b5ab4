"""Who a user is in the stored data: their user id and the devices linked to them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import or_, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from eventkit.privacy.policy import subject_hash
from eventkit.storage.models import (
    EVENTS,
    IDENTITY_LINKS,
    SESSIONS,
    USER_PROFILES,
    USER_TOMBSTONES,
)

__all__ = ["Subject", "UserStatus", "find_subject", "user_status"]

_E = EVENTS.c


@dataclass(frozen=True)
class Subject:
    """A user of one app: their id and every anonymous (device) id linked to them."""

    app_id: int
    user_id: str
    anonymous_ids: tuple[str, ...]

    @property
    def ids(self) -> tuple[str, ...]:
        """The user id and the anonymous ids."""
        return (self.user_id, *self.anonymous_ids)

    def events_clause(self) -> ColumnElement[bool]:
        """The user's events: theirs by user id, and their devices' anonymous events
        (another user's events on a shared device are not theirs)."""
        mine = _E.user_id == self.user_id
        if self.anonymous_ids:
            mine = or_(
                mine, (_E.user_id.is_(None)) & (_E.anonymous_id.in_(list(self.anonymous_ids)))
            )
        return (_E.app_id == self.app_id) & mine


def find_subject(conn: Connection, app_id: int, user_id: str, after: int = 0) -> Subject:
    """The user's anonymous ids: from identity links and from their own events (those
    with an arrival id above ``after``)."""
    anon = set(
        conn.execute(
            select(IDENTITY_LINKS.c.anonymous_id).where(
                IDENTITY_LINKS.c.app_id == app_id, IDENTITY_LINKS.c.user_id == user_id
            )
        ).scalars()
    )
    anon |= set(
        conn.execute(
            text(
                "SELECT DISTINCT anonymous_id FROM events WHERE app_id = :a AND user_id = :u "
                "AND anonymous_id IS NOT NULL AND id > :after"
            ),
            {"a": app_id, "u": user_id, "after": after},
        ).scalars()
    )
    anon.discard(user_id)
    return Subject(app_id, user_id, tuple(sorted(a for a in anon if a)))


#: What is known about a user id in an app (see :func:`user_status`).
UserStatus = Literal["stored", "erased", "unknown"]


def user_status(conn: Connection, app_id: int, user_id: str) -> UserStatus:
    """``stored`` when the app holds events, a profile, identity links or sessions of
    the user (or of a device with that id); ``erased`` when it holds none but a
    tombstone; ``unknown`` otherwise (a wrong id, or the wrong app)."""
    probes = [
        select(EVENTS.c.id).where(
            EVENTS.c.app_id == app_id,
            or_(EVENTS.c.user_id == user_id, EVENTS.c.anonymous_id == user_id),
        ),
        select(USER_PROFILES.c.user_id).where(
            USER_PROFILES.c.app_id == app_id, USER_PROFILES.c.user_id == user_id
        ),
        select(IDENTITY_LINKS.c.user_id).where(
            IDENTITY_LINKS.c.app_id == app_id, IDENTITY_LINKS.c.user_id == user_id
        ),
        select(SESSIONS.c.id).where(SESSIONS.c.app_id == app_id, SESSIONS.c.user_id == user_id),
    ]
    if any(conn.execute(q.limit(1)).first() is not None for q in probes):
        return "stored"
    stone = select(USER_TOMBSTONES.c.subject).where(
        USER_TOMBSTONES.c.app_id == app_id,
        USER_TOMBSTONES.c.subject == subject_hash(app_id, user_id),
    )
    return "erased" if conn.execute(stone).first() is not None else "unknown"
