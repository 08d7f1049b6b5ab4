"""The privacy audit log: one row per erasure, access export, settings change and
retention purge. Subjects appear only as their hash (``subject_hash``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from eventkit.storage.errors import map_db_errors
from eventkit.storage.models import PRIVACY_AUDIT
from eventkit.timeutil import now_us

__all__ = ["AuditEntry", "list_audit", "record_audit"]

_A = PRIVACY_AUDIT.c


@dataclass(frozen=True)
class AuditEntry:
    """One audited action."""

    id: int
    app_id: int
    action: str
    subject: str
    actor: str
    at: int
    details: dict[str, Any]


def record_audit(
    conn: Connection,
    app_id: int,
    action: str,
    actor: str,
    details: dict[str, Any],
    subject: str = "",
) -> None:
    """Append an entry (inside the caller's transaction)."""
    conn.execute(
        PRIVACY_AUDIT.insert().values(
            app_id=app_id,
            action=action,
            subject=subject,
            actor=actor[:200],
            at=now_us(),
            details=details,
        )
    )


def list_audit(
    engine: Engine, app_id: int | None = None, *, subject: str | None = None, limit: int = 100
) -> list[AuditEntry]:
    """Newest entries first."""
    stmt = select(PRIVACY_AUDIT).order_by(_A.id.desc()).limit(limit)
    if app_id is not None:
        stmt = stmt.where(_A.app_id == app_id)
    if subject is not None:
        stmt = stmt.where(_A.subject == subject)
    with map_db_errors(), engine.connect() as conn:
        rows = conn.execute(stmt).all()
    return [AuditEntry(r.id, r.app_id, r.action, r.subject, r.actor, r.at, r.details) for r in rows]
