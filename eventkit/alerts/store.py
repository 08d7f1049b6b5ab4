"""Alert rules and digests, their evaluation history and the delivery outbox, as
stored in ``alert_rules``, ``alert_runs`` and ``alert_deliveries``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection, Engine, RowMapping

from eventkit.alerts.spec import AlertSpec, DigestSpec, parse_spec
from eventkit.errors import ConflictError, InvalidRequestError, NotFoundError
from eventkit.storage.errors import map_db_errors
from eventkit.storage.models import ALERT_DELIVERIES, ALERT_RULES, ALERT_RUNS
from eventkit.timeutil import US_PER_DAY, now_us

__all__ = [
    "Delivery",
    "Rule",
    "RuleKind",
    "Run",
    "create_rule",
    "decided",
    "delete_rule",
    "get_rule",
    "list_deliveries",
    "list_rules",
    "list_runs",
    "prune_history",
    "redeliver",
    "set_paused",
]

RuleKind = Literal["alert", "digest"]
_R, _H, _D = ALERT_RULES.c, ALERT_RUNS.c, ALERT_DELIVERIES.c
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


@dataclass(frozen=True)
class Rule:
    """A stored alert rule or digest."""

    id: int
    app_id: int
    kind: RuleKind
    name: str
    spec: AlertSpec | DigestSpec
    paused: bool
    state: str
    firing_notified: bool
    last_notified_at: int | None
    created_at: int
    updated_at: int
    created_by: str

    @property
    def alert(self) -> AlertSpec:
        """The spec of an alert rule."""
        assert isinstance(self.spec, AlertSpec)
        return self.spec

    @property
    def digest(self) -> DigestSpec:
        """The spec of a digest."""
        assert isinstance(self.spec, DigestSpec)
        return self.spec


def rule_of(row: RowMapping) -> Rule:
    """A ``Rule`` from an ``alert_rules`` row."""
    kind: RuleKind = "digest" if row["kind"] == "digest" else "alert"
    return Rule(
        id=int(row["id"]),
        app_id=int(row["app_id"]),
        kind=kind,
        name=row["name"],
        spec=parse_spec(kind, row["definition"]),
        paused=bool(row["paused"]),
        state=row["state"],
        firing_notified=bool(row["firing_notified"]),
        last_notified_at=row["last_notified_at"],
        created_at=int(row["created_at"]),
        updated_at=int(row["updated_at"]),
        created_by=row["created_by"],
    )


@dataclass(frozen=True)
class Run:
    """One evaluation of a rule (or one digest) for one bucket."""

    id: int
    rule_id: int
    bucket: int
    bucket_end: int
    evaluated_at: int
    outcome: str
    value: float | None
    baseline: float | None
    detail: dict[str, Any]
    node: str


@dataclass(frozen=True)
class Delivery:
    """One message to one destination."""

    id: int
    app_id: int
    rule_id: int | None
    run_id: int | None
    kind: str
    destination: dict[str, Any]
    message: dict[str, Any]
    status: str
    attempts: int
    next_attempt_at: int
    last_error: str
    created_at: int
    delivered_at: int | None


def create_rule(
    engine: Engine,
    app_id: int,
    kind: RuleKind,
    name: str,
    spec: AlertSpec | DigestSpec,
    actor: str,
) -> Rule:
    """Store a new rule or digest.

    Raises:
        InvalidRequestError: the name is not 1-100 letters, digits, ``_ . -``.
        ConflictError: the app already has one by that name.
    """
    if not _NAME.match(name):
        raise InvalidRequestError(
            f"{kind} name {name!r}: use 1 to 100 letters, digits, '_', '.' or '-'"
        )
    now = now_us()
    values = {
        "app_id": app_id,
        "kind": kind,
        "name": name,
        "definition": spec.model_dump(mode="json"),
        "paused": False,
        "state": "ok",
        "firing_notified": False,
        "last_notified_at": None,
        "created_at": now,
        "updated_at": now,
        "created_by": actor[:200],
    }
    with map_db_errors(), engine.begin() as conn:
        exists = conn.execute(
            select(_R.id).where(_R.app_id == app_id, _R.kind == kind, _R.name == name)
        ).first()
        if exists is not None:
            raise ConflictError(f"this app already has an {kind} named {name!r}")
        conn.execute(insert(ALERT_RULES).values(**values))
        row = (
            conn.execute(
                select(ALERT_RULES).where(_R.app_id == app_id, _R.kind == kind, _R.name == name)
            )
            .mappings()
            .one()
        )
    return rule_of(row)


def _find(conn: Connection, app_id: int, kind: RuleKind, name: str) -> RowMapping:
    row = (
        conn.execute(
            select(ALERT_RULES).where(_R.app_id == app_id, _R.kind == kind, _R.name == name)
        )
        .mappings()
        .first()
    )
    if row is None:
        group = "alerts" if kind == "alert" else "digest"
        raise NotFoundError(f"no {kind} named {name!r} in this app: `eventkit {group} list`")
    return row


def get_rule(engine: Engine, app_id: int, kind: RuleKind, name: str) -> Rule:
    """One rule by name.

    Raises:
        NotFoundError: the app has no such rule.
    """
    with map_db_errors(), engine.connect() as conn:
        return rule_of(_find(conn, app_id, kind, name))


def list_rules(engine: Engine, app_id: int | None, kind: RuleKind) -> list[Rule]:
    """The rules of one app (or every app), by app and name."""
    q = select(ALERT_RULES).where(_R.kind == kind).order_by(_R.app_id, _R.name)
    if app_id is not None:
        q = q.where(_R.app_id == app_id)
    with map_db_errors(), engine.connect() as conn:
        return [rule_of(r) for r in conn.execute(q).mappings()]


def set_paused(engine: Engine, app_id: int, kind: RuleKind, name: str, paused: bool) -> Rule:
    """Pause (no evaluation, nothing sent) or resume a rule. Resuming starts from a
    clean state: a rule paused while firing does not announce a stale resolve."""
    with map_db_errors(), engine.begin() as conn:
        row = _find(conn, app_id, kind, name)
        values: dict[str, Any] = {"paused": paused, "updated_at": now_us()}
        if not paused:
            values.update(state="ok", firing_notified=False)
        conn.execute(update(ALERT_RULES).where(_R.id == row["id"]).values(**values))
        return rule_of(conn.execute(select(ALERT_RULES).where(_R.id == row["id"])).mappings().one())


def delete_rule(engine: Engine, app_id: int, kind: RuleKind, name: str) -> None:
    """Delete a rule and its history; its undelivered messages are dropped too."""
    with map_db_errors(), engine.begin() as conn:
        row = _find(conn, app_id, kind, name)
        conn.execute(
            delete(ALERT_DELIVERIES).where(_D.rule_id == row["id"], _D.status == "pending")
        )
        conn.execute(delete(ALERT_RUNS).where(_H.rule_id == row["id"]))
        conn.execute(delete(ALERT_RULES).where(_R.id == row["id"]))


def list_runs(engine: Engine, rule_id: int, limit: int = 50) -> list[Run]:
    """The rule's most recent evaluations, newest first."""
    q = select(ALERT_RUNS).where(_H.rule_id == rule_id).order_by(_H.bucket.desc()).limit(limit)
    with map_db_errors(), engine.connect() as conn:
        rows = conn.execute(q).mappings().all()
    return [
        Run(
            id=int(r["id"]),
            rule_id=int(r["rule_id"]),
            bucket=int(r["bucket"]),
            bucket_end=int(r["bucket_end"]),
            evaluated_at=int(r["evaluated_at"]),
            outcome=r["outcome"],
            value=r["value"],
            baseline=r["baseline"],
            detail=dict(r["detail"] or {}),
            node=r["node"],
        )
        for r in rows
    ]


def _delivery(r: RowMapping) -> Delivery:
    return Delivery(
        id=int(r["id"]),
        app_id=int(r["app_id"]),
        rule_id=r["rule_id"],
        run_id=r["run_id"],
        kind=r["kind"],
        destination=dict(r["destination"]),
        message=dict(r["message"]),
        status=r["status"],
        attempts=int(r["attempts"]),
        next_attempt_at=int(r["next_attempt_at"]),
        last_error=r["last_error"],
        created_at=int(r["created_at"]),
        delivered_at=r["delivered_at"],
    )


def list_deliveries(
    engine: Engine,
    app_id: int | None = None,
    *,
    status: str | None = None,
    rule_id: int | None = None,
    limit: int = 100,
) -> list[Delivery]:
    """Messages, newest first (``status="dead"``: the dead-letter list)."""
    q = select(ALERT_DELIVERIES).order_by(_D.id.desc()).limit(limit)
    if app_id is not None:
        q = q.where(_D.app_id == app_id)
    if status is not None:
        q = q.where(_D.status == status)
    if rule_id is not None:
        q = q.where(_D.rule_id == rule_id)
    with map_db_errors(), engine.connect() as conn:
        return [_delivery(r) for r in conn.execute(q).mappings()]


def redeliver(engine: Engine, app_id: int, ids: list[int] | None = None) -> int:
    """Put dead-lettered messages (all of the app's, or ``ids``) back in the outbox with
    a fresh set of attempts; returns how many."""
    cond = [_D.app_id == app_id, _D.status == "dead"]
    if ids:
        cond.append(_D.id.in_(ids))
    with map_db_errors(), engine.begin() as conn:
        n = conn.execute(
            update(ALERT_DELIVERIES)
            .where(*cond)
            .values(status="pending", attempts=0, next_attempt_at=now_us(), claimed_until=None)
        ).rowcount
    return int(n or 0)


def prune_history(engine: Engine, days: int, now: int | None = None) -> int:
    """Delete evaluations and delivered messages older than ``days`` (dead letters stay
    until redelivered or the rule is deleted); returns how many rows went."""
    cutoff = (now_us() if now is None else now) - days * US_PER_DAY
    with map_db_errors(), engine.begin() as conn:
        runs = conn.execute(delete(ALERT_RUNS).where(_H.evaluated_at < cutoff)).rowcount
        sent = conn.execute(
            delete(ALERT_DELIVERIES).where(_D.status == "delivered", _D.created_at < cutoff)
        ).rowcount
    return int(runs or 0) + int(sent or 0)


def count_pending(engine: Engine) -> int:
    """Messages waiting in the outbox (all apps)."""
    with map_db_errors(), engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(ALERT_DELIVERIES).where(_D.status == "pending")
            ).scalar_one()
        )


def decided(engine: Engine, rule_id: int, bucket: int) -> bool:
    """Whether the rule's bucket (or the digest's period) has its ``alert_runs`` row: a
    cheap skip before computing; the unique row is what guarantees exactly once."""
    with map_db_errors(), engine.connect() as conn:
        row = conn.execute(select(_H.id).where(_H.rule_id == rule_id, _H.bucket == bucket)).first()
    return row is not None
