"""Saved cohorts: create, list, show, refresh, delete, export (docs/reports.md#cohorts).

Members are materialized in ``cohort_members``. A refresh evaluates the definition in
a read snapshot (so ingest is never blocked while it computes) and then writes only
the difference in a short write transaction, guarded against a concurrent refresh.
It is incremental where the definition allows: when membership depends only on
history (no rolling "last N days", no relative dates), only the actors with events
since the last refresh (and users whose profile changed) are evaluated again. A
refresh that changes membership bumps the app's flags version, so servers reload
flags using ``in_cohort`` within a second.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.engine import Connection, Engine

from eventkit.cohorts.members import evaluate, touched_actors
from eventkit.cohorts.spec import CohortSpec, depends_on_now, parse_spec, spec_to_dict
from eventkit.config import Settings
from eventkit.errors import ConflictError, InvalidRequestError, NotFoundError
from eventkit.storage.engine import writer
from eventkit.storage.errors import map_db_errors
from eventkit.storage.models import APPS, COHORT_MEMBERS, COHORTS, FLAGS_VERSIONS
from eventkit.timeutil import US_PER_SECOND, now_us

__all__ = [
    "CohortInfo",
    "RefreshResult",
    "create_cohort",
    "delete_cohort",
    "erase_actors",
    "get_cohort",
    "iter_members",
    "list_cohorts",
    "refresh_all",
    "refresh_cohort",
]

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class CohortInfo:
    """A cohort as listed."""

    id: int
    app_id: int
    name: str
    description: str
    spec: CohortSpec
    created_at: int
    refreshed_at: int | None
    member_count: int


@dataclass(frozen=True)
class RefreshResult:
    """What a refresh did."""

    name: str
    mode: str  # "full" | "incremental" | "skipped"
    evaluated: int | None
    added: int
    removed: int
    members: int


def _app_id(conn: Connection, app: str) -> int:
    row = conn.execute(select(APPS.c.id).where(APPS.c.name == app)).first()
    if row is None:
        raise NotFoundError(f"no app named {app!r}; `eventkit apps list` shows the apps")
    return int(row[0])


def _info(row: Any) -> CohortInfo:
    return CohortInfo(
        id=row.id, app_id=row.app_id, name=row.name, description=row.description,
        spec=parse_spec(row.definition), created_at=row.created_at,
        refreshed_at=row.refreshed_at, member_count=row.member_count,
    )  # fmt: skip


def _row(conn: Connection, app_id: int, name: str) -> Any:
    row = conn.execute(
        select(COHORTS).where(COHORTS.c.app_id == app_id, COHORTS.c.name == name)
    ).first()
    if row is None:
        raise NotFoundError(
            f"no cohort named {name!r} in this app; `eventkit cohorts list --app …` shows them"
        )
    return row


def create_cohort(
    engine: Engine, settings: Settings, app: str, name: str, spec: CohortSpec,
    *, description: str = "",
) -> RefreshResult:  # fmt: skip
    """Save a cohort and compute its members at once.

    Raises:
        InvalidRequestError: a bad name.
        NotFoundError: no such app.
        ConflictError: the app has a cohort of that name.
    """
    if not _NAME.match(name):
        raise InvalidRequestError(
            f"cohort name {name!r} must be 1-64 characters of a-z, 0-9, '.', '-' or '_'"
        )
    now = now_us()
    with map_db_errors(), writer(engine).begin() as conn:
        app_id = _app_id(conn, app)
        if conn.execute(
            select(COHORTS.c.id).where(COHORTS.c.app_id == app_id, COHORTS.c.name == name)
        ).first():
            raise ConflictError(f"app {app!r} already has a cohort named {name!r}")
        conn.execute(
            COHORTS.insert().values(
                app_id=app_id,
                name=name,
                description=description,
                definition=spec_to_dict(spec),
                created_at=now,
                updated_at=now,
                refreshed_through=0,
                member_count=0,
            )
        )
    return refresh_cohort(engine, settings, app, name, full=True)


def list_cohorts(engine: Engine, app: str) -> list[CohortInfo]:
    """The app's cohorts, by name."""
    with map_db_errors(), engine.connect() as conn:
        app_id = _app_id(conn, app)
        rows = conn.execute(
            select(COHORTS).where(COHORTS.c.app_id == app_id).order_by(COHORTS.c.name)
        ).all()
    return [_info(r) for r in rows]


def get_cohort(engine: Engine, app: str, name: str) -> CohortInfo:
    """One cohort.

    Raises:
        NotFoundError: no such app or cohort.
    """
    with map_db_errors(), engine.connect() as conn:
        return _info(_row(conn, _app_id(conn, app), name))


def delete_cohort(engine: Engine, app: str, name: str) -> CohortInfo:
    """Delete a cohort and its members.

    Raises:
        NotFoundError: no such app or cohort.
    """
    with map_db_errors(), writer(engine).begin() as conn:
        row = _row(conn, _app_id(conn, app), name)
        conn.execute(COHORT_MEMBERS.delete().where(COHORT_MEMBERS.c.cohort_id == row.id))
        conn.execute(COHORTS.delete().where(COHORTS.c.id == row.id))
        _bump_flags(conn, row.app_id)
    return _info(row)


def iter_members(engine: Engine, app: str, name: str) -> Iterator[tuple[str, int]]:
    """``(actor, joined_at)`` of every member, by actor (for the CSV export)."""
    with map_db_errors(), engine.connect() as conn:
        row = _row(conn, _app_id(conn, app), name)
        result = conn.execution_options(stream_results=True).execute(
            select(COHORT_MEMBERS.c.actor, COHORT_MEMBERS.c.joined_at)
            .where(COHORT_MEMBERS.c.cohort_id == row.id)
            .order_by(COHORT_MEMBERS.c.actor)
        )
        for actor, joined in result:
            yield str(actor), int(joined)


def _bump_flags(conn: Connection, app_id: int) -> None:
    done = conn.execute(
        FLAGS_VERSIONS.update()
        .where(FLAGS_VERSIONS.c.app_id == app_id)
        .values(version=FLAGS_VERSIONS.c.version + 1)
    )
    if done.rowcount == 0:
        conn.execute(FLAGS_VERSIONS.insert().values(app_id=app_id, version=1))


def _mark(conn: Connection, settings: Settings) -> int:
    """The arrival id the evaluation is exact up to. On PostgreSQL ids are taken before
    commit, so recent arrivals are left for the next refresh (as the rollups do)."""
    if conn.dialect.name == "postgresql":
        cutoff = now_us() - int(settings.aggregation.settle_seconds * US_PER_SECOND)
        value = conn.execute(
            text("SELECT MAX(id) FROM events WHERE received_at <= :c"), {"c": cutoff}
        ).scalar()
    else:
        value = conn.execute(text("SELECT MAX(id) FROM events")).scalar()
    return int(value or 0)


def refresh_cohort(
    engine: Engine, settings: Settings, app: str, name: str, *, full: bool = False,
    now: int | None = None,
) -> RefreshResult:  # fmt: skip
    """Recompute a cohort's members (incrementally when possible; ``full`` forces a
    complete evaluation) and store the difference.

    Raises:
        NotFoundError: no such app or cohort.
    """
    clock = now if now is not None else now_us()
    with map_db_errors(), engine.connect() as conn, conn.begin():
        row = _row(conn, _app_id(conn, app), name)
        spec = parse_spec(row.definition)
        mark = _mark(conn, settings)
        incremental = not full and row.refreshed_at is not None and not depends_on_now(spec)
        cands = (
            touched_actors(conn, row.app_id, int(row.refreshed_through), int(row.refreshed_at))
            if incremental else None
        )  # fmt: skip
        members = evaluate(conn, row.app_id, spec, now=clock, candidates=cands)
        old_q = select(COHORT_MEMBERS.c.actor).where(COHORT_MEMBERS.c.cohort_id == row.id)
        old = {str(a) for a in conn.execute(old_q).scalars()}
    scope = old if cands is None else old & cands
    added, removed = members - scope, scope - members
    with map_db_errors(), writer(engine).begin() as conn:
        current = conn.execute(
            select(COHORTS.c.refreshed_through, COHORTS.c.updated_at).where(COHORTS.c.id == row.id)
        ).first()
        if current is None or (current[0], current[1]) != (row.refreshed_through, row.updated_at):
            return RefreshResult(name, "skipped", None, 0, 0, row.member_count)  # raced
        if removed:
            for chunk in _chunks(sorted(removed)):
                conn.execute(
                    COHORT_MEMBERS.delete().where(
                        COHORT_MEMBERS.c.cohort_id == row.id, COHORT_MEMBERS.c.actor.in_(chunk)
                    )
                )
        if added:
            conn.execute(
                COHORT_MEMBERS.insert(),
                [{"cohort_id": row.id, "actor": a, "joined_at": clock} for a in sorted(added)],
            )
        count = len(old) - len(removed) + len(added)
        conn.execute(
            COHORTS.update()
            .where(COHORTS.c.id == row.id)
            .values(
                refreshed_at=clock,
                refreshed_through=mark,
                member_count=count,
                updated_at=max(clock, int(row.updated_at) + 1),
            )
        )
        if added or removed:
            _bump_flags(conn, row.app_id)
    mode = "incremental" if cands is not None else "full"
    return RefreshResult(name, mode, None if cands is None else len(cands), len(added),
                         len(removed), count)  # fmt: skip


def _chunks(items: list[str]) -> Iterator[list[str]]:
    for i in range(0, len(items), 500):
        yield items[i : i + 500]


def refresh_all(engine: Engine, settings: Settings) -> list[RefreshResult]:
    """Refresh every cohort of every app (the scheduled job's body)."""
    with map_db_errors(), engine.connect() as conn:
        rows = conn.execute(
            select(APPS.c.name, COHORTS.c.name).join(APPS, APPS.c.id == COHORTS.c.app_id)
        ).all()
    return [refresh_cohort(engine, settings, str(a), str(c)) for a, c in rows]


def erase_actors(conn: Connection, app_id: int, actors: list[str]) -> int:
    """Remove erased users and devices from every cohort of the app, inside the
    erasure transaction (``eventkit users delete``); returns the rows removed."""
    ids = [int(i) for i in conn.execute(
        select(COHORTS.c.id).where(COHORTS.c.app_id == app_id)).scalars()]  # fmt: skip
    if not ids or not actors:
        return 0
    removed = conn.execute(
        COHORT_MEMBERS.delete().where(
            COHORT_MEMBERS.c.cohort_id.in_(ids), COHORT_MEMBERS.c.actor.in_(actors)
        )
    ).rowcount
    if removed:
        for cid in ids:
            n = conn.execute(
                select(text("COUNT(*)")).select_from(COHORT_MEMBERS)
                .where(COHORT_MEMBERS.c.cohort_id == cid)
            ).scalar_one()  # fmt: skip
            conn.execute(COHORTS.update().where(COHORTS.c.id == cid).values(member_count=n))
    return int(removed or 0)
