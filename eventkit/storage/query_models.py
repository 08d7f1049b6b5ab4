"""Tables of scoped API tokens, cohorts and measure rollups (docs/security.md,
docs/reports.md). Part of the schema declared in ``eventkit.storage.models``, which
re-exports them; instants are integer epoch microseconds."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from eventkit.storage.types import JSONDoc

__all__ = [
    "API_TOKENS",
    "COHORTS",
    "COHORT_MEMBERS",
    "ROLLUP_MEASURES",
    "ROLLUP_MEASURE_VALUES",
    "ApiToken",
    "Cohort",
    "CohortMember",
    "RollupMeasure",
    "RollupMeasureValue",
]


def _table(model: type[SQLModel]) -> Table:
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


# --- scoped API tokens and cohorts (docs/security.md, docs/reports.md) ---


class ApiToken(SQLModel, table=True):
    """A scoped API token for scripts. Only its SHA-256 hash is stored; ``prefix``
    finds the candidate row and identifies it in lists. ``scopes`` is a sorted,
    comma-separated list (``reports:read,query:read``)."""

    __tablename__ = "api_tokens"
    __table_args__ = (Index("ix_api_tokens_prefix", "prefix"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    app_id: int = Field(
        sa_column=Column(Integer, ForeignKey("apps.id", ondelete="CASCADE"), nullable=False)
    )
    name: str = Field(sa_column=Column(String(64), nullable=False))
    prefix: str = Field(sa_column=Column(String(32), nullable=False))
    token_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    scopes: str = Field(sa_column=Column(String(200), nullable=False))
    created_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_by: str = Field(default="", sa_column=Column(String(200), nullable=False))
    expires_at: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    last_used_at: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    revoked_at: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))


class Cohort(SQLModel, table=True):
    """A saved group of users (``definition`` is a ``CohortSpec`` as JSON). Members
    are materialized in ``cohort_members`` by the refresh job; ``refreshed_through``
    is the events watermark (arrival id) the members are exact up to."""

    __tablename__ = "cohorts"
    __table_args__ = (UniqueConstraint("app_id", "name", name="uq_cohorts_app_name"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    app_id: int = Field(
        sa_column=Column(Integer, ForeignKey("apps.id", ondelete="CASCADE"), nullable=False)
    )
    name: str = Field(sa_column=Column(String(64), nullable=False))
    description: str = Field(default="", sa_column=Column(String(500), nullable=False))
    definition: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONDoc, nullable=False)
    )
    created_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    updated_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    refreshed_at: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    refreshed_through: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    member_count: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


class CohortMember(SQLModel, table=True):
    """One member (an actor: the user id, else the device id) of a cohort."""

    __tablename__ = "cohort_members"
    __table_args__ = {"sqlite_with_rowid": False}

    cohort_id: int = Field(
        sa_column=Column(
            Integer,
            ForeignKey("cohorts.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        )
    )
    actor: str = Field(sa_column=Column(String(200), primary_key=True))
    joined_at: int = Field(sa_column=Column(BigInteger, nullable=False))


API_TOKENS = _table(ApiToken)
COHORTS = _table(Cohort)
COHORT_MEMBERS = _table(CohortMember)


class RollupMeasure(SQLModel, table=True):
    """Per app, period, bucket, event name, breakdown and numeric property (configured
    in ``aggregation.measure_properties``): how many events carried a number (``n``)
    and their sum. Maintained by the rollup job (eventkit.aggregation.measures)."""

    __tablename__ = "rollup_measures"

    app_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    period: str = Field(sa_column=Column(String(1), primary_key=True))
    bucket: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    name: str = Field(sa_column=Column(String(200), primary_key=True))
    dim: str = Field(sa_column=Column(String(80), primary_key=True))
    value: str = Field(sa_column=Column(String(200), primary_key=True))
    prop: str = Field(sa_column=Column(String(200), primary_key=True))
    n: int = Field(sa_column=Column(BigInteger, nullable=False))
    total: float = Field(sa_column=Column(Double, nullable=False))


class RollupMeasureValue(SQLModel, table=True):
    """How many events of a name carried each distinct value of a measure property on
    a UTC day: exact medians and percentiles merge these counts."""

    __tablename__ = "rollup_measure_values"
    __table_args__ = {"sqlite_with_rowid": False}

    app_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    name: str = Field(sa_column=Column(String(200), primary_key=True))
    prop: str = Field(sa_column=Column(String(200), primary_key=True))
    day: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    amount: float = Field(sa_column=Column(Double, primary_key=True))
    count: int = Field(sa_column=Column(BigInteger, nullable=False))


ROLLUP_MEASURES = _table(RollupMeasure)
ROLLUP_MEASURE_VALUES = _table(RollupMeasureValue)
