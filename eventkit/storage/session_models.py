"""Tables of the per-day session statistics (docs/sessions.md, "Statistics at scale").
Part of the schema declared in ``eventkit.storage.models``, which re-exports them;
instants are integer epoch microseconds, days are the epoch microseconds of 00:00 UTC.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import BigInteger, Column, Integer, LargeBinary, String, Table
from sqlmodel import Field, SQLModel

__all__ = ["SESSION_DAYS", "SESSION_DAYS_DIRTY", "SessionDay", "SessionDayDirty"]


def _table(model: type[SQLModel]) -> Table:
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


class SessionDay(SQLModel, table=True):
    """The sessions of one app that started on one UTC day (or one hour of it), with
    one platform and app version: counts, and every duration, sorted, so medians and
    percentiles over any set of days stay exact.

    Written only by the sessions job (``eventkit.sessions.days``) from ``sessions``;
    a day whose sessions changed since is listed in ``session_days_dirty`` and read
    from ``sessions`` instead until the job rewrites it.
    """

    __tablename__ = "session_days"

    app_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    day: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    #: -1: the whole day; 0..23: the sessions that started in that hour (UTC) of it,
    #: for ranges that cut through the day ("the last 24 hours").
    hour: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    #: The sessions' platform and app version ('' for none).
    platform: str = Field(sa_column=Column(String(32), primary_key=True))
    app_version: str = Field(sa_column=Column(String(64), primary_key=True))
    sessions: int = Field(sa_column=Column(Integer, nullable=False))
    #: The sum of the sessions' event counts.
    events: int = Field(sa_column=Column(BigInteger, nullable=False))
    bounced: int = Field(sa_column=Column(Integer, nullable=False))
    #: The earliest and latest ``started_at`` of these sessions: a range that cuts
    #: through the day can still use the row when it holds all of them.
    first_start: int = Field(sa_column=Column(BigInteger, nullable=False))
    last_start: int = Field(sa_column=Column(BigInteger, nullable=False))
    #: Every ``duration_us``, ascending, as little-endian signed 64-bit integers.
    durations: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class SessionDayDirty(SQLModel, table=True):
    """Days whose sessions changed after their ``session_days`` rows were written.

    Set by database triggers on ``sessions`` (so every writer — the sessions job,
    erasure, retention, a rebuild — marks what it changed, in the same transaction);
    ``changes`` counts the marks, so the job clears a day only if nothing marked it
    again while it was recomputing.
    """

    __tablename__ = "session_days_dirty"

    app_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    day: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    changes: int = Field(sa_column=Column(BigInteger, nullable=False))


SESSION_DAYS = _table(SessionDay)
SESSION_DAYS_DIRTY = _table(SessionDayDirty)
