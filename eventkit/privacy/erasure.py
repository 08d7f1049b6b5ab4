"""Erasure (``eventkit users delete``): remove everything held about one user.

1. Tombstones for the user id and every linked device id are written and the policy
   counter bumped: within ``privacy.refresh_seconds`` every server drops their events.
   The erasure waits ``privacy.propagation_seconds`` for that to happen everywhere.
2. One write transaction then deletes the user's events (theirs, and their devices'
   anonymous events), their ``event_sessions`` rows and sessions (a shared device's
   remaining events are sessionized again), profile and identity links, takes their
   events out of the rollups (:mod:`eventkit.privacy.rollups`), deletes rows of any
   other table keyed by app and user or device id, and records an audit entry that
   names the user only by hash.

That transaction first locks the rollup and sessions watermarks and bumps the sessions
generation (:func:`~eventkit.privacy.rollups.lock_jobs`), so neither job can write back
what was just deleted.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, bindparam, delete, or_, select, text
from sqlalchemy.engine import Connection, Engine

from eventkit.aggregation.measures import subtract_measures
from eventkit.aggregation.rollups import dims_for
from eventkit.config import Settings
from eventkit.errors import InvalidRequestError
from eventkit.plugins.manager import get_plugin_manager
from eventkit.privacy.audit import record_audit
from eventkit.privacy.policy import subject_hash
from eventkit.privacy.rollups import lock_jobs, remove_actors, subtract_events
from eventkit.privacy.subjects import Subject, find_subject
from eventkit.sessions.job import BATCH_COLUMNS, device_key, plan_rows
from eventkit.storage.engine import writer
from eventkit.storage.errors import map_db_errors
from eventkit.storage.models import (
    EVENT_SESSIONS,
    EVENTS,
    FLAGS,
    IDENTITY_LINKS,
    SESSIONS,
    USER_PROFILES,
    metadata,
)
from eventkit.storage.policies import bump_policy_version
from eventkit.storage.types import json_dumps
from eventkit.timeutil import now_us

__all__ = ["ErasureResult", "delete_user", "write_tombstones"]

_E = EVENTS.c
_CHUNK = 500
#: Tables this module erases explicitly; any other table with an ``app_id`` and a
#: ``user_id`` or ``anonymous_id`` column is swept generically.
_HANDLED = {"events", "sessions", "user_profiles", "identity_links"}


@dataclass
class ErasureResult:
    """What an erasure removed."""

    app_id: int
    user_id: str
    subject: str
    anonymous_ids: int
    deleted: dict[str, int] = field(default_factory=dict)
    #: Flags whose definition still names the user id (edit them: history is kept).
    flags_mentioning: list[str] = field(default_factory=list)


def write_tombstones(conn: Connection, app_id: int, ids: Sequence[str]) -> None:
    """Record tombstones for ``ids`` and tell every server (caller's transaction)."""
    now = now_us()
    for sid in ids:
        conn.execute(
            text(
                "INSERT INTO user_tombstones (app_id, subject, created_at) VALUES (:a, :s, :t) "
                "ON CONFLICT (app_id, subject) DO NOTHING"
            ),
            {"a": app_id, "s": subject_hash(app_id, sid), "t": now},
        )
    bump_policy_version(conn, app_id)


def _chunks(ids: Sequence[Any]) -> list[list[Any]]:
    return [list(ids[i : i + _CHUNK]) for i in range(0, len(ids), _CHUNK)]


def _victims(conn: Connection, subject: Subject, after: int = 0) -> list[Any]:
    stmt = select(_E.id, _E.user_id, _E.anonymous_id).where(subject.events_clause())
    if after:
        stmt = stmt.where(_E.id > after)
    return list(conn.execute(stmt.order_by(_E.id)).all())


def _resessionize(
    conn: Connection, settings: Settings, subject: Subject, victims: list[Any]
) -> dict[str, int]:
    """Delete the sessions of the user's devices; sessionize again what other users
    left on them (a shared device)."""
    dkeys = {device_key(v.anonymous_id, v.user_id) for v in victims}
    dkeys |= {f"user:{subject.user_id}", *subject.anonymous_ids}
    keys = sorted(k for k in dkeys if k)
    mapped: list[int] = []
    for chunk in _chunks(keys):
        mapped += [
            int(pk)
            for pk in conn.execute(
                select(EVENT_SESSIONS.c.event_pk).where(
                    EVENT_SESSIONS.c.app_id == subject.app_id,
                    EVENT_SESSIONS.c.device_key.in_(chunk),
                )
            ).scalars()
        ]
    gone = {int(v.id) for v in victims}
    keep = sorted(set(mapped) - gone)
    out = {"event_sessions": 0, "sessions": 0}
    for chunk in _chunks(sorted(set(mapped))):
        out["event_sessions"] += conn.execute(
            delete(EVENT_SESSIONS).where(EVENT_SESSIONS.c.event_pk.in_(chunk))
        ).rowcount
    for chunk in _chunks(keys):
        out["sessions"] += conn.execute(
            delete(SESSIONS).where(
                SESSIONS.c.app_id == subject.app_id, SESSIONS.c.device_key.in_(chunk)
            )
        ).rowcount
    if keep:
        rows: list[Any] = []
        for chunk in _chunks(keep):
            rows += conn.execute(
                text(f"SELECT {BATCH_COLUMNS} FROM events WHERE id IN :ids").bindparams(
                    bindparam("ids", expanding=True)
                ),
                {"ids": chunk},
            ).all()
        rows.sort(key=lambda r: r.id)
        plan_rows(conn, rows, settings, now_us()).write(conn)
    return out


def _sweep_other_tables(conn: Connection, subject: Subject) -> dict[str, int]:
    """Rows of tables this module does not know, keyed by app and user/device id."""
    out: dict[str, int] = {}
    for table in metadata.sorted_tables:
        cols = table.c
        if table.name in _HANDLED or "app_id" not in cols:
            continue
        conds = []
        if "user_id" in cols:
            conds.append(cols.user_id == subject.user_id)
        if "anonymous_id" in cols and subject.anonymous_ids:
            conds.append(cols.anonymous_id.in_(list(subject.anonymous_ids)))
        if not conds:
            continue
        n = conn.execute(delete(table).where(cols.app_id == subject.app_id, or_(*conds))).rowcount
        if n:
            out[table.name] = n
    return out


def _flags_mentioning(conn: Connection, subject: Subject) -> list[str]:
    rows = conn.execute(
        select(FLAGS.c.key, FLAGS.c.definition).where(FLAGS.c.app_id == subject.app_id)
    ).all()
    needle = json_dumps(subject.user_id)
    return sorted(k for k, d in rows if needle in json_dumps(d))


def _delete_rows(conn: Connection, table: Table, ids: list[int]) -> int:
    n = 0
    for chunk in _chunks(ids):
        n += conn.execute(delete(table).where(table.c.id.in_(chunk))).rowcount
    return n


def _erase(
    conn: Connection,
    settings: Settings,
    subject: Subject,
    victims: list[Any],
    actor: str,
    mark: int,
) -> ErasureResult:
    ids = [int(v.id) for v in victims]
    result = ErasureResult(
        subject.app_id, subject.user_id, subject_hash(subject.app_id, subject.user_id),
        len(subject.anonymous_ids),
    )  # fmt: skip
    d = result.deleted
    subtract_measures(conn, [i for i in ids if i <= mark], dims_for(settings.aggregation),
                      settings.aggregation.measure_properties)  # fmt: skip
    d["rollup_counts"] = subtract_events(
        conn, subject.app_id, [i for i in ids if i <= mark], dims_for(settings.aggregation)
    )
    d.update(_resessionize(conn, settings, subject, victims))
    d["events"] = _delete_rows(conn, EVENTS, ids)
    # After the events are gone: distinct counts are recomputed from what remains.
    d.update(remove_actors(conn, subject.app_id, subject.ids))
    d["user_profiles"] = conn.execute(
        delete(USER_PROFILES).where(
            USER_PROFILES.c.app_id == subject.app_id, USER_PROFILES.c.user_id == subject.user_id
        )
    ).rowcount
    links = IDENTITY_LINKS.c.user_id == subject.user_id
    if subject.anonymous_ids:
        links = links | IDENTITY_LINKS.c.anonymous_id.in_(list(subject.anonymous_ids))
    d["identity_links"] = conn.execute(
        delete(IDENTITY_LINKS).where(IDENTITY_LINKS.c.app_id == subject.app_id, links)
    ).rowcount
    d.update(_sweep_other_tables(conn, subject))
    # Plugins erase what they hold in the same transaction; one that fails fails it all.
    for removed in get_plugin_manager().hook.eventkit_erase_user(
        conn=conn,
        app_id=subject.app_id,
        user_id=subject.user_id,
        anonymous_ids=sorted(subject.anonymous_ids),
    ):
        d.update(removed or {})
    result.flags_mentioning = _flags_mentioning(conn, subject)
    record_audit(
        conn,
        subject.app_id,
        "user_delete",
        actor,
        {
            "deleted": d,
            "anonymous_ids": len(subject.anonymous_ids),
            "flags_mentioning": result.flags_mentioning,
        },
        subject=result.subject,
    )
    return result


def delete_user(
    engine: Engine,
    settings: Settings,
    app_id: int,
    user_id: str,
    *,
    actor: str,
    wait_seconds: float | None = None,
) -> ErasureResult:
    """Erase a user of an app and leave tombstones (see the module docstring).

    Raises:
        InvalidRequestError: ``user_id`` is empty.
    """
    if not user_id:
        raise InvalidRequestError("give the user_id to delete")
    wait = settings.privacy.propagation_seconds if wait_seconds is None else wait_seconds
    with map_db_errors(), engine.connect() as conn:
        subject = find_subject(conn, app_id, user_id)
    with map_db_errors(), writer(engine).begin() as conn:
        write_tombstones(conn, app_id, subject.ids)
    if wait > 0:
        time.sleep(wait)  # every server picks up the tombstones; in-flight commits land
    seen: list[Any] = []
    if engine.dialect.name != "postgresql":
        # SQLite: read the rows before taking the write lock (ingest keeps writing
        # meanwhile); only rows that arrived since are read under the lock.
        with map_db_errors(), engine.connect() as conn:
            subject = find_subject(conn, app_id, user_id)
            seen = _victims(conn, subject)
    last = int(seen[-1].id) if seen else 0
    with map_db_errors(), writer(engine).begin() as conn:
        # Locks first: everything read below is what the jobs will see after us.
        mark, _ = lock_jobs(conn)
        newer = find_subject(conn, app_id, user_id, after=last)
        added = set(newer.anonymous_ids) - set(subject.anonymous_ids)
        if added:  # new devices: tombstone them too, and look at every row again
            subject = Subject(app_id, user_id, tuple(sorted({*subject.anonymous_ids, *added})))
            write_tombstones(conn, app_id, subject.ids)
            seen, last = [], 0
        victims = seen + _victims(conn, subject, after=last)
        return _erase(conn, settings, subject, victims, actor, mark)
