"""Tracking plans, plan modes and violation counts in the database."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import delete, select, text
from sqlalchemy.engine import Connection, Engine

from eventkit.storage.engine import writer
from eventkit.storage.errors import map_db_errors
from eventkit.storage.models import APPS, TRACKING_PLANS, TRACKING_VIOLATIONS
from eventkit.storage.policies import bump_policy_version, update_app_settings
from eventkit.timeutil import now_us
from eventkit.tracking.plan import MODES, Mode, PlanDiff, diff_plans
from eventkit.tracking.validator import CompiledPlan, compile_plan

__all__ = [
    "StoredPlan",
    "ViolationCount",
    "clear_violations",
    "get_plan",
    "list_violations",
    "load_compiled",
    "plan_mode",
    "push_plan",
    "record_violations",
    "set_plan_mode",
]

_P = TRACKING_PLANS.c
_V = TRACKING_VIOLATIONS.c


@dataclass(frozen=True)
class StoredPlan:
    """An app's plan as stored, with its mode."""

    app_id: int
    version: int
    plan: dict[str, Any] | None
    mode: Mode
    updated_at: int | None
    updated_by: str


def _mode(settings: Any) -> Mode:
    value = ((settings or {}).get("tracking") or {}).get("mode", "off")
    return cast(Mode, value if value in MODES else "off")


def plan_mode(conn: Connection, app_id: int) -> Mode:
    """The app's plan mode (``off`` unless set)."""
    return _mode(conn.execute(select(APPS.c.settings).where(APPS.c.id == app_id)).scalar())


def get_plan(engine: Engine, app_id: int) -> StoredPlan:
    """The app's plan (``plan`` is None when none was pushed) and mode."""
    with map_db_errors(), engine.connect() as conn:
        row = conn.execute(select(TRACKING_PLANS).where(_P.app_id == app_id)).first()
        mode = plan_mode(conn, app_id)
    if row is None:
        return StoredPlan(app_id, 0, None, mode, None, "")
    return StoredPlan(app_id, row.version, row.plan, mode, row.updated_at, row.updated_by)


def push_plan(engine: Engine, app_id: int, plan: dict[str, Any], actor: str) -> PlanDiff:
    """Store a normalized plan as the app's plan (a new version) and return what changed.
    Servers pick it up within ``tracking.refresh_seconds``."""
    with map_db_errors(), writer(engine).begin() as conn:
        row = conn.execute(select(_P.version, _P.plan).where(_P.app_id == app_id)).first()
        diff = diff_plans(row.plan if row else None, plan)
        values = {"plan": plan, "updated_at": now_us(), "updated_by": actor[:200]}
        if row is None:
            conn.execute(TRACKING_PLANS.insert().values(app_id=app_id, version=1, **values))
        elif row.plan != plan:
            conn.execute(
                TRACKING_PLANS.update()
                .where(_P.app_id == app_id)
                .values(version=row.version + 1, **values)
            )
        bump_policy_version(conn, app_id)
    return diff


def set_plan_mode(conn: Connection, app_id: int, mode: Mode) -> None:
    """Set the app's plan mode (inside the caller's transaction)."""
    update_app_settings(conn, app_id, "tracking", {"mode": mode})


def load_compiled(conn: Connection, app_ids: Iterable[int]) -> dict[int, CompiledPlan]:
    """Compiled plans of apps whose mode is not ``off`` (for the ingest cache)."""
    ids = list(app_ids)
    modes = {
        int(a): _mode(s)
        for a, s in conn.execute(select(APPS.c.id, APPS.c.settings).where(APPS.c.id.in_(ids)))
    }
    active = [a for a, m in modes.items() if m != "off"]
    plans = {
        int(r.app_id): (r.plan, int(r.version))
        for r in conn.execute(select(_P.app_id, _P.plan, _P.version).where(_P.app_id.in_(active)))
    }
    out = {}
    for app_id in active:
        plan, version = plans.get(app_id, (None, 0))
        out[app_id] = compile_plan(plan, modes[app_id], version)
    return out


# ------------------------------------------------------------------ violations

#: (app_id, event_name, kind, property) -> [count, first_seen, last_seen, example]
Counts = dict[tuple[int, str, str, str], list[Any]]

_UPSERT = text(
    "INSERT INTO tracking_violations "
    "(app_id, event_name, kind, property, count, first_seen, last_seen, example) "
    "VALUES (:a, :n, :k, :p, :c, :f, :l, :e) "
    "ON CONFLICT (app_id, event_name, kind, property) DO UPDATE SET "
    "count = tracking_violations.count + excluded.count, "
    "last_seen = excluded.last_seen, example = excluded.example"
)


def record_violations(engine: Engine, counts: Counts) -> None:
    """Add counted violations to the table (one transaction, additive upserts)."""
    if not counts:
        return
    rows = [
        {"a": a, "n": n[:200], "k": k, "p": p[:200], "c": c, "f": f, "l": last, "e": e[:500]}
        for (a, n, k, p), (c, f, last, e) in sorted(counts.items())
    ]
    with map_db_errors(), writer(engine).begin() as conn:
        conn.execute(_UPSERT, rows)


@dataclass(frozen=True)
class ViolationCount:
    """Violations of one kind by one event name (and property)."""

    event_name: str
    kind: str
    property: str
    count: int
    first_seen: int
    last_seen: int
    example: str


def list_violations(
    engine: Engine,
    app_id: int,
    *,
    kind: str | None = None,
    event_name: str | None = None,
    since: int | None = None,
) -> list[ViolationCount]:
    """Violation counts, most frequent first."""
    stmt = select(TRACKING_VIOLATIONS).where(_V.app_id == app_id)
    if kind:
        stmt = stmt.where(_V.kind == kind)
    if event_name:
        stmt = stmt.where(_V.event_name == event_name)
    if since is not None:
        stmt = stmt.where(_V.last_seen >= since)
    stmt = stmt.order_by(_V.count.desc(), _V.event_name, _V.kind, _V.property)
    with map_db_errors(), engine.connect() as conn:
        rows = conn.execute(stmt).all()
    return [
        ViolationCount(
            r.event_name, r.kind, r.property, int(r[4]), r.first_seen, r.last_seen, r.example
        )
        for r in rows
    ]


def clear_violations(engine: Engine, app_id: int) -> int:
    """Forget the app's violation counts (after fixing the app or the plan)."""
    with map_db_errors(), writer(engine).begin() as conn:
        return conn.execute(delete(TRACKING_VIOLATIONS).where(_V.app_id == app_id)).rowcount
