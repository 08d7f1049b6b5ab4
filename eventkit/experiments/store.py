"""Experiments in the database: define, start, stop, ship.

An experiment binds a flag's variants (one of them the control) to metrics. Its
lifecycle is ``draft`` → ``running`` → ``stopped`` (or ``shipped``, which also makes
the chosen variant the flag's value for everyone, through the audited flag store).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import msgspec
from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from eventkit.errors import ConflictError, InvalidRequestError, NotFoundError
from eventkit.flags.spec import FlagSpec, check_key
from eventkit.flags.store import change_flag, get_flag
from eventkit.storage.engine import writer
from eventkit.storage.errors import map_db_errors
from eventkit.storage.models import EXPERIMENTS
from eventkit.timeutil import now_us

__all__ = [
    "ExperimentRecord",
    "ExperimentSpec",
    "Metric",
    "create_experiment",
    "get_experiment",
    "list_experiments",
    "set_status",
    "ship_variant",
]

Status = Literal["draft", "running", "stopped", "shipped"]


class Metric(msgspec.Struct, forbid_unknown_fields=True):
    """A metric: ``conversion`` (did the user send ``event`` within the window after
    first exposure), ``count`` (events per exposed user) or ``mean`` (per-user mean of
    a numeric ``property`` of ``event``)."""

    kind: Literal["conversion", "count", "mean"]
    event: str
    property: str | None = None


class ExperimentSpec(msgspec.Struct, forbid_unknown_fields=True):
    """What an experiment compares and measures."""

    key: str
    flag: str
    control: str
    variants: list[str]
    primary: Metric
    secondary: list[Metric] = []
    window_hours: float = 72.0
    description: str = ""
    shipped_variant: str | None = None


@dataclass(frozen=True)
class ExperimentRecord:
    """An experiment as stored."""

    spec: ExperimentSpec
    status: str
    created_at: int
    started_at: int | None
    stopped_at: int | None


def _record(row: Any) -> ExperimentRecord:
    return ExperimentRecord(
        msgspec.convert(row.definition, ExperimentSpec),
        row.status,
        row.created_at,
        row.started_at,
        row.stopped_at,
    )


def create_experiment(engine: Engine, app_id: int, spec: ExperimentSpec) -> ExperimentRecord:
    """Store a draft experiment after checking it against its flag.

    Raises:
        NotFoundError: the flag does not exist.
        InvalidRequestError: unknown variants, no treatment, or a bad metric.
        ConflictError: the key is taken.
    """
    check_key(spec.key)
    flag = get_flag(engine, app_id, spec.flag).spec
    names = [v.key for v in flag.variants]
    if not spec.variants:
        spec.variants = [v.key for v in flag.variants if v.weight > 0]
    for v in [spec.control, *spec.variants]:
        if v not in names:
            raise InvalidRequestError(
                f"flag {flag.key!r} has no variant {v!r}; it has {', '.join(names)}"
            )
    if spec.control not in spec.variants:
        spec.variants.insert(0, spec.control)
    if len(spec.variants) < 2:
        raise InvalidRequestError("an experiment needs the control and at least one treatment")
    for m in [spec.primary, *spec.secondary]:
        if m.kind == "mean" and not m.property:
            raise InvalidRequestError(f"the mean metric on {m.event!r} needs a property")
    if spec.primary.kind != "conversion":
        raise InvalidRequestError("the primary metric must be a conversion")
    if spec.window_hours <= 0:
        raise InvalidRequestError("the conversion window must be positive")
    with map_db_errors(), writer(engine).begin() as conn:
        taken = conn.execute(
            select(EXPERIMENTS.c.id).where(
                EXPERIMENTS.c.app_id == app_id, EXPERIMENTS.c.key == spec.key
            )
        ).first()
        if taken:
            raise ConflictError(f"the app already has an experiment {spec.key!r}")
        now = now_us()
        conn.execute(
            EXPERIMENTS.insert().values(
                app_id=app_id,
                key=spec.key,
                flag_key=spec.flag,
                status="draft",
                definition=msgspec.to_builtins(spec),
                created_at=now,
            )
        )
    return ExperimentRecord(spec, "draft", now, None, None)


def get_experiment(engine: Engine, app_id: int, key: str) -> ExperimentRecord:
    """One experiment. Raises NotFoundError."""
    with map_db_errors(), engine.connect() as conn:
        row = conn.execute(
            select(EXPERIMENTS).where(EXPERIMENTS.c.app_id == app_id, EXPERIMENTS.c.key == key)
        ).first()
    if row is None:
        raise NotFoundError(
            f"no experiment {key!r} in this app; `eventkit experiments list` shows them"
        )
    return _record(row)


def list_experiments(engine: Engine, app_id: int) -> list[ExperimentRecord]:
    """The app's experiments by key."""
    with map_db_errors(), engine.connect() as conn:
        rows = conn.execute(
            select(EXPERIMENTS).where(EXPERIMENTS.c.app_id == app_id).order_by(EXPERIMENTS.c.key)
        ).all()
    return [_record(r) for r in rows]


_NEXT: dict[str, tuple[str, ...]] = {"running": ("draft",), "stopped": ("running",)}


def set_status(
    engine: Engine, app_id: int, key: str, status: Status, *, at: int | None = None
) -> ExperimentRecord:
    """Start (``running``) or stop (``stopped``) an experiment, now or ``at`` (epoch µs;
    demo data starts its experiment at the start of the simulated period).

    Raises:
        InvalidRequestError: the move is not allowed from the current status.
    """
    rec = get_experiment(engine, app_id, key)
    if rec.status not in _NEXT.get(status, ()):
        raise InvalidRequestError(f"experiment {key!r} is {rec.status}; it cannot become {status}")
    now = now_us() if at is None else at
    values: dict[str, Any] = {"status": status}
    values["started_at" if status == "running" else "stopped_at"] = now
    with map_db_errors(), writer(engine).begin() as conn:
        conn.execute(
            update(EXPERIMENTS)
            .where(EXPERIMENTS.c.app_id == app_id, EXPERIMENTS.c.key == key)
            .values(**values)
        )
    return get_experiment(engine, app_id, key)


def ship_variant(
    engine: Engine, app_id: int, key: str, variant: str, *, actor: str
) -> ExperimentRecord:
    """Stop the experiment and serve ``variant`` to everyone (flag rules cleared).

    Raises:
        InvalidRequestError: the variant is not in the experiment, or it was never started.
    """
    rec = get_experiment(engine, app_id, key)
    if variant not in rec.spec.variants:
        raise InvalidRequestError(
            f"{variant!r} is not a variant of experiment {key!r} ({', '.join(rec.spec.variants)})"
        )
    if rec.status not in ("running", "stopped"):
        raise InvalidRequestError(f"experiment {key!r} is {rec.status}; only run ones ship")

    def ship(s: FlagSpec) -> FlagSpec:
        # Enabled, no rules and one weighted variant: everyone gets it (STATIC).
        s.enabled, s.rules, s.default_variant = True, [], variant
        for v in s.variants:
            v.weight = 100.0 if v.key == variant else 0.0
        return s

    change_flag(
        engine,
        app_id,
        rec.spec.flag,
        ship,
        action="ship",
        summary=f"experiment {key} shipped {variant}",
        actor=actor,
    )
    spec = msgspec.structs.replace(rec.spec, shipped_variant=variant)
    now = now_us()
    with map_db_errors(), writer(engine).begin() as conn:
        conn.execute(
            update(EXPERIMENTS)
            .where(EXPERIMENTS.c.app_id == app_id, EXPERIMENTS.c.key == key)
            .values(
                status="shipped",
                definition=msgspec.to_builtins(spec),
                stopped_at=rec.stopped_at or now,
            )
        )
    return get_experiment(engine, app_id, key)
