"""Flags in the database: create, change (every change audited), history, restore.

Every write bumps the app's ``flags_versions`` counter in the same transaction, which
is how every server process notices that its compiled evaluator is stale.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import select, update
from sqlalchemy.engine import Connection, Engine

from eventkit.errors import ConflictError, InvalidRequestError, NotFoundError
from eventkit.flags.conditions import cohorts_named
from eventkit.flags.spec import FlagSpec, Rule, check_key, validate
from eventkit.storage.engine import writer
from eventkit.storage.errors import map_db_errors
from eventkit.storage.models import (
    COHORT_MEMBERS,
    COHORTS,
    FLAG_HISTORY,
    FLAGS,
    FLAGS_VERSIONS,
)
from eventkit.timeutil import now_us

__all__ = [
    "FlagRecord",
    "HistoryEntry",
    "change_flag",
    "create_flag",
    "flags_version",
    "get_flag",
    "history",
    "list_flags",
    "load_cohorts",
    "load_specs",
    "parse_rules",
    "restore_flag",
    "set_enabled",
    "set_rollout",
    "set_rules",
    "spec_from_doc",
    "spec_to_doc",
]


@dataclass(frozen=True)
class FlagRecord:
    """A flag as stored: its definition and version."""

    spec: FlagSpec
    version: int
    created_at: int
    updated_at: int


@dataclass(frozen=True)
class HistoryEntry:
    """One audited change."""

    version: int
    action: str
    summary: str
    actor: str
    at: int
    spec: FlagSpec


def spec_to_doc(spec: FlagSpec) -> dict[str, Any]:
    """A definition as a JSON-able dict."""
    doc: dict[str, Any] = msgspec.to_builtins(spec)
    return doc


def spec_from_doc(doc: dict[str, Any]) -> FlagSpec:
    """A definition from its stored JSON document."""
    return msgspec.convert(doc, FlagSpec)


def _bump(conn: Connection, app_id: int) -> None:
    done = conn.execute(
        update(FLAGS_VERSIONS)
        .where(FLAGS_VERSIONS.c.app_id == app_id)
        .values(version=FLAGS_VERSIONS.c.version + 1)
    )
    if done.rowcount == 0:
        conn.execute(FLAGS_VERSIONS.insert().values(app_id=app_id, version=1))


def _audit(
    conn: Connection,
    app_id: int,
    spec: FlagSpec,
    version: int,
    action: str,
    summary: str,
    actor: str,
) -> None:
    conn.execute(
        FLAG_HISTORY.insert().values(
            app_id=app_id,
            flag_key=spec.key,
            version=version,
            action=action,
            summary=summary[:500],
            actor=actor[:200],
            at=now_us(),
            definition=spec_to_doc(spec),
        )
    )


def create_flag(engine: Engine, app_id: int, spec: FlagSpec, *, actor: str) -> FlagRecord:
    """Store a new flag (version 1).

    Raises:
        InvalidRequestError: the definition is inconsistent.
        ConflictError: the app has a flag with that key.
    """
    spec = validate(spec)
    now = now_us()
    with map_db_errors(), writer(engine).begin() as conn:
        exists = conn.execute(
            select(FLAGS.c.id).where(FLAGS.c.app_id == app_id, FLAGS.c.key == spec.key)
        ).first()
        if exists:
            raise ConflictError(f"the app already has a flag {spec.key!r}")
        conn.execute(
            FLAGS.insert().values(
                app_id=app_id,
                key=spec.key,
                version=1,
                definition=spec_to_doc(spec),
                created_at=now,
                updated_at=now,
            )
        )
        _audit(conn, app_id, spec, 1, "create", "created", actor)
        _bump(conn, app_id)
    return FlagRecord(spec, 1, now, now)


def _row(conn: Connection, app_id: int, key: str) -> Any:
    row = conn.execute(
        select(FLAGS).where(FLAGS.c.app_id == app_id, FLAGS.c.key == check_key(key))
    ).first()
    if row is None:
        raise NotFoundError(f"no flag {key!r} in this app; `eventkit flags list` shows them")
    return row


def _record(row: Any) -> FlagRecord:
    return FlagRecord(spec_from_doc(row.definition), row.version, row.created_at, row.updated_at)


def get_flag(engine: Engine, app_id: int, key: str) -> FlagRecord:
    """One flag. Raises NotFoundError."""
    with map_db_errors(), engine.connect() as conn:
        return _record(_row(conn, app_id, key))


def list_flags(engine: Engine, app_id: int, *, archived: bool = False) -> list[FlagRecord]:
    """The app's flags by key; archived ones only when ``archived``."""
    with map_db_errors(), engine.connect() as conn:
        rows = conn.execute(
            select(FLAGS).where(FLAGS.c.app_id == app_id).order_by(FLAGS.c.key)
        ).all()
    records = [_record(r) for r in rows]
    return [r for r in records if archived or not r.spec.archived]


def change_flag(
    engine: Engine,
    app_id: int,
    key: str,
    mutate: Callable[[FlagSpec], FlagSpec],
    *,
    action: str,
    summary: str,
    actor: str,
) -> FlagRecord:
    """Apply ``mutate`` to the current definition, validate, store and audit it.

    Raises:
        NotFoundError: no such flag.
        InvalidRequestError: the changed definition is inconsistent.
    """
    now = now_us()
    with map_db_errors(), writer(engine).begin() as conn:
        row = _row(conn, app_id, key)
        spec = validate(mutate(spec_from_doc(row.definition)))
        spec.key = row.key  # the key never changes
        version = row.version + 1
        conn.execute(
            update(FLAGS)
            .where(FLAGS.c.id == row.id)
            .values(version=version, definition=spec_to_doc(spec), updated_at=now)
        )
        _audit(conn, app_id, spec, version, action, summary, actor)
        _bump(conn, app_id)
        return FlagRecord(spec, version, row.created_at, now)


def set_enabled(engine: Engine, app_id: int, key: str, on: bool, *, actor: str) -> FlagRecord:
    """Turn a flag on or off (``flags enable|disable``, the dashboard's toggle)."""

    def mutate(s: FlagSpec) -> FlagSpec:
        s.enabled = on
        return s

    return change_flag(engine, app_id, key, mutate, action="enable" if on else "disable",
                       summary="enabled" if on else "disabled", actor=actor)  # fmt: skip


def set_rollout(
    engine: Engine, app_id: int, key: str, percent: float, *, actor: str, rule: int | None = None
) -> FlagRecord:
    """Set rule ``rule``'s rollout (default: the last rule; a flag without rules gets an
    everyone rule).

    Raises:
        InvalidRequestError: ``percent`` outside 0-100, or no such rule.
    """
    if not 0 <= percent <= 100:
        raise InvalidRequestError("rollout must be between 0 and 100 percent")

    def mutate(s: FlagSpec) -> FlagSpec:
        if not s.rules:
            s.rules = [Rule(description="everyone")]
        n = rule or len(s.rules)
        if not 1 <= n <= len(s.rules):
            raise InvalidRequestError(f"flag {key!r} has rules 1-{len(s.rules)}, not {n}")
        s.rules[n - 1].rollout = percent
        return s

    return change_flag(engine, app_id, key, mutate, action="rollout",
                       summary=f"rollout {percent:g}%", actor=actor)  # fmt: skip


def parse_rules(text: str) -> list[Rule]:
    """A JSON list of rules, as ``flags show`` prints them.

    Raises:
        InvalidRequestError: not JSON, or not a list of rules (the message says where).
    """
    try:
        return msgspec.json.decode(text.encode(), type=list[Rule])
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise InvalidRequestError(f"the rules are not valid: {exc}") from None


def set_rules(
    engine: Engine, app_id: int, key: str, rules: list[Rule], *, actor: str
) -> FlagRecord:
    """Replace a flag's ordered rules (audited as ``rules``)."""

    def mutate(s: FlagSpec) -> FlagSpec:
        s.rules = rules
        return s

    return change_flag(engine, app_id, key, mutate, action="rules",
                       summary=f"edited rules ({len(rules)})", actor=actor)  # fmt: skip


def history(engine: Engine, app_id: int, key: str) -> list[HistoryEntry]:
    """Every change to the flag, oldest first. Raises NotFoundError."""
    with map_db_errors(), engine.connect() as conn:
        _row(conn, app_id, key)
        rows = conn.execute(
            select(FLAG_HISTORY)
            .where(FLAG_HISTORY.c.app_id == app_id, FLAG_HISTORY.c.flag_key == key)
            .order_by(FLAG_HISTORY.c.version)
        ).all()
    return [
        HistoryEntry(r.version, r.action, r.summary, r.actor, r.at, spec_from_doc(r.definition))
        for r in rows
    ]


def restore_flag(engine: Engine, app_id: int, key: str, version: int, *, actor: str) -> FlagRecord:
    """Make the definition of ``version`` current again (as a new version).

    Raises:
        NotFoundError: no such flag or version.
    """
    old = [h for h in history(engine, app_id, key) if h.version == version]
    if not old:
        raise NotFoundError(
            f"flag {key!r} has no version {version}; `eventkit flags history {key}` lists them"
        )
    target = old[0].spec
    return change_flag(
        engine,
        app_id,
        key,
        lambda _: msgspec.structs.replace(target),
        action="restore",
        summary=f"restored version {version}",
        actor=actor,
    )


def flags_version(engine: Engine, app_id: int) -> int:
    """The app's flag change counter (0 before the first flag)."""
    with map_db_errors(), engine.connect() as conn:
        v = conn.execute(
            select(FLAGS_VERSIONS.c.version).where(FLAGS_VERSIONS.c.app_id == app_id)
        ).scalar()
    return int(v or 0)


def load_specs(engine: Engine, app_id: int) -> tuple[int, list[FlagSpec]]:
    """The app's flags version and every definition, read in one snapshot."""
    with map_db_errors(), engine.connect() as conn:
        v = conn.execute(
            select(FLAGS_VERSIONS.c.version).where(FLAGS_VERSIONS.c.app_id == app_id)
        ).scalar()
        rows = conn.execute(select(FLAGS.c.definition).where(FLAGS.c.app_id == app_id)).all()
    return int(v or 0), [spec_from_doc(r.definition) for r in rows]


def load_cohorts(
    engine: Engine, app_id: int, specs: Iterable[FlagSpec]
) -> dict[str, frozenset[str]]:
    """The members of the cohorts the definitions target with ``in_cohort`` (a cohort
    refresh that changes members bumps the flags version, so this is re-read then)."""
    names = cohorts_named(c for s in specs for r in s.rules for c in r.conditions)
    if not names:
        return {}
    out: dict[str, set[str]] = {n: set() for n in names}
    with map_db_errors(), engine.connect() as conn:
        rows = conn.execute(
            select(COHORTS.c.name, COHORT_MEMBERS.c.actor)
            .join(COHORT_MEMBERS, COHORT_MEMBERS.c.cohort_id == COHORTS.c.id)
            .where(COHORTS.c.app_id == app_id, COHORTS.c.name.in_(sorted(names)))
        )
        for name, actor in rows:
            out[str(name)].add(str(actor))
    return {k: frozenset(v) for k, v in out.items()}
