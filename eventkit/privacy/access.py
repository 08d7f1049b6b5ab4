"""Access requests (``eventkit users export``): everything held about one user."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.engine import Connection, Engine

from eventkit.privacy.audit import record_audit
from eventkit.privacy.policy import subject_hash
from eventkit.privacy.subjects import Subject, find_subject
from eventkit.storage.engine import writer
from eventkit.storage.errors import map_db_errors
from eventkit.storage.models import (
    EVENTS,
    IDENTITY_LINKS,
    SESSIONS,
    USER_PROFILES,
    USER_TOMBSTONES,
)
from eventkit.timeutil import from_us, now_us

__all__ = ["export_user"]

_E = EVENTS.c
_TIME_KEYS = {
    "timestamp", "sent_at", "received_at", "ts", "first_seen", "last_seen", "linked_at",
    "started_at", "last_event_at", "ended_at",
}  # fmt: skip


def _iso(row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in row.items():
        if k in _TIME_KEYS and isinstance(v, int):
            out[k] = from_us(v).isoformat()
        elif k == "event_id" and v is not None:
            out[k] = str(v)
        else:
            out[k] = v
    return out


def _events(conn: Connection, subject: Subject) -> Iterator[dict[str, Any]]:
    cols = [c for c in EVENTS.c if c.name not in ("id", "app_id")]
    stmt = select(*cols).where(subject.events_clause()).order_by(_E.ts, _E.id)
    for row in conn.execute(stmt):
        yield _iso(dict(row._mapping))


def export_user(engine: Engine, app_id: int, user_id: str, *, actor: str) -> dict[str, Any]:
    """Everything held about a user of an app, as JSON-ready data: profile, identity
    links, events (flag exposures among them, also listed apart), sessions, the days
    the rollups count them as active, and whether they are tombstoned. Recorded in
    the audit log."""
    with map_db_errors(), engine.connect() as conn:
        subject = find_subject(conn, app_id, user_id)
        profile = conn.execute(
            select(USER_PROFILES).where(
                USER_PROFILES.c.app_id == app_id, USER_PROFILES.c.user_id == user_id
            )
        ).first()
        links = conn.execute(
            select(IDENTITY_LINKS.c.anonymous_id, IDENTITY_LINKS.c.linked_at).where(
                IDENTITY_LINKS.c.app_id == app_id, IDENTITY_LINKS.c.user_id == user_id
            )
        ).all()
        events = list(_events(conn, subject))
        keys = [f"user:{user_id}", *subject.anonymous_ids]
        sessions = conn.execute(
            select(SESSIONS)
            .where(
                SESSIONS.c.app_id == app_id,
                (SESSIONS.c.device_key.in_(keys)) | (SESSIONS.c.user_id == user_id),
            )
            .order_by(SESSIONS.c.started_at)
        ).all()
        days = _active_days(conn, subject)
        tombstoned = (
            conn.execute(
                select(USER_TOMBSTONES.c.created_at).where(
                    USER_TOMBSTONES.c.app_id == app_id,
                    USER_TOMBSTONES.c.subject == subject_hash(app_id, user_id),
                )
            ).scalar()
            is not None
        )
    data: dict[str, Any] = {
        "app_id": app_id,
        "user_id": user_id,
        "exported_at": from_us(now_us()).isoformat(),
        "deleted": tombstoned,
        "anonymous_ids": list(subject.anonymous_ids),
        "profile": _iso(dict(profile._mapping)) if profile else None,
        "identity_links": [_iso(dict(r._mapping)) for r in links],
        "events": events,
        "flag_exposures": [
            {"timestamp": e["timestamp"], **(e.get("properties") or {})}
            for e in events
            if e["name"] == "$feature_flag_called"
        ],
        "sessions": [
            _iso({k: v for k, v in r._mapping.items() if k != "app_id"}) for r in sessions
        ],
        "active_days": days,
    }
    with map_db_errors(), writer(engine).begin() as conn:
        record_audit(
            conn,
            app_id,
            "user_export",
            actor,
            {"events": len(events), "sessions": len(sessions)},
            subject=subject_hash(app_id, user_id),
        )
    return data


def _active_days(conn: Connection, subject: Subject) -> list[dict[str, Any]]:
    """Days the rollups count the user (or their devices) as active, with event counts
    (these outlive raw events purged by retention)."""
    rows = conn.execute(
        text(
            "SELECT day, SUM(count) FROM rollup_user_days WHERE app_id = :a AND name = '' "
            "AND actor IN :actors GROUP BY day ORDER BY day"
        ).bindparams(bindparam("actors", expanding=True)),
        {"a": subject.app_id, "actors": list(subject.ids)},
    ).all()
    return [{"day": from_us(int(d)).date().isoformat(), "events": int(n)} for d, n in rows]
