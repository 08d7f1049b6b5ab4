"""The parameters every report shares: app, time range, interval, filters, breakdown."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from eventkit.aggregation.sql import BUILTIN_DIMS, prop_expr
from eventkit.errors import InvalidRequestError
from eventkit.timeutil import US_PER_DAY, US_PER_HOUR, from_us, to_us

__all__ = [
    "INTERVALS",
    "Filter",
    "Interval",
    "Report",
    "ReportQuery",
    "bucket_start",
    "buckets",
    "field_sql",
    "iso",
    "next_bucket",
    "parse_filter",
]

Interval = Literal["hour", "day", "week", "month"]
INTERVALS: tuple[Interval, ...] = ("hour", "day", "week", "month")


@dataclass(frozen=True)
class Filter:
    """``key=value`` or ``key!=value`` on a column (platform, app_version, country) or
    a top-level event property."""

    key: str
    value: str
    negate: bool = False

    def matches(self, actual: Any) -> bool:
        """Whether an event whose ``key`` is ``actual`` passes (plain Python)."""
        equal = actual is not None and str(actual) == self.value
        return not equal if self.negate else equal


def parse_filter(text: str) -> Filter:
    """Parse ``key=value`` / ``key!=value``.

    Raises:
        InvalidRequestError: the text is neither.
    """
    key, sep, value = text.partition("!=")
    if sep:
        negate = True
    else:
        key, sep, value = text.partition("=")
        negate = False
    if not sep or not key.strip():
        raise InvalidRequestError(
            f"cannot read the filter {text!r}: use key=value or key!=value, "
            "e.g. platform=ios or screen_name!=home"
        )
    return Filter(key.strip(), value.strip(), negate)


def field_sql(dialect: str, key: str) -> str:
    """SQL text of a filter/breakdown key: a column, or a property."""
    return key if key in BUILTIN_DIMS else prop_expr(dialect, key)


def bucket_start(ts: int, interval: Interval) -> int:
    """Start of the hour, UTC day, ISO week (Monday) or month holding ``ts``."""
    if interval == "hour":
        return ts - ts % US_PER_HOUR
    day = ts - ts % US_PER_DAY
    if interval == "day":
        return day
    if interval == "week":
        weekday = (day // US_PER_DAY + 3) % 7  # 1970-01-01 was a Thursday
        return day - weekday * US_PER_DAY
    d = from_us(day)
    return to_us(datetime(d.year, d.month, 1, tzinfo=UTC))


def next_bucket(start: int, interval: Interval) -> int:
    """Start of the bucket after the one starting at ``start``."""
    if interval == "hour":
        return start + US_PER_HOUR
    if interval == "day":
        return start + US_PER_DAY
    if interval == "week":
        return start + 7 * US_PER_DAY
    d = from_us(start)
    year, month = (d.year + 1, 1) if d.month == 12 else (d.year, d.month + 1)
    return to_us(datetime(year, month, 1, tzinfo=UTC))


def buckets(since: int, until: int, interval: Interval) -> list[int]:
    """Starts of every bucket overlapping ``[since, until)``."""
    out = []
    b = bucket_start(since, interval)
    while b < until:
        out.append(b)
        b = next_bucket(b, interval)
    return out


@dataclass(frozen=True)
class ReportQuery:
    """Shared report parameters. Times are epoch µs; ``until`` is exclusive.

    The range snaps outward to whole intervals (whole days for day-level rollups).
    """

    app_id: int
    since: int
    until: int
    interval: Interval = "day"
    by: str | None = None
    where: tuple[Filter, ...] = ()

    def __post_init__(self) -> None:
        if self.until <= self.since:
            raise InvalidRequestError("until must be after since")
        if self.interval not in INTERVALS:
            raise InvalidRequestError(f"interval must be one of {', '.join(INTERVALS)}")

    @property
    def start(self) -> int:
        """``since`` snapped down to the start of its interval."""
        return bucket_start(self.since, self.interval)

    @property
    def end(self) -> int:
        """``until`` snapped up to the end of its interval."""
        first = bucket_start(self.until - 1, self.interval)
        return next_bucket(first, self.interval)


@dataclass
class Report:
    """A computed report: rows for tables/CSV, meta for summaries; both JSON-ready."""

    name: str
    columns: list[str]
    rows: list[dict[str, Any]]
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of the HTTP API and ``--format json``."""
        return {"report": self.name, "meta": self.meta, "rows": self.rows}


def iso(ts: int, interval: Interval = "day") -> str:
    """A bucket start as ISO text (date only for day and longer)."""
    d = from_us(ts)
    return d.isoformat() if interval == "hour" else d.date().isoformat()
