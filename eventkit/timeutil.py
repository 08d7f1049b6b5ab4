"""Time helpers. eventkit stores every instant as integer microseconds since the Unix
epoch (UTC): identical arithmetic on SQLite and PostgreSQL, cheap to index and bucket."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

__all__ = ["US_PER_DAY", "US_PER_HOUR", "US_PER_SECOND", "from_us", "now_us", "parse_when", "to_us"]

US_PER_SECOND = 1_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)
US_PER_HOUR = 3600 * US_PER_SECOND
US_PER_DAY = 24 * US_PER_HOUR


def now_us() -> int:
    """The current time in epoch microseconds."""
    return time.time_ns() // 1000


def to_us(dt: datetime) -> int:
    """Convert an aware datetime (naive ones are taken as UTC) to epoch microseconds."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return (dt - _EPOCH) // _ONE_US


def from_us(us: int) -> datetime:
    """Convert epoch microseconds to an aware UTC datetime."""
    return datetime.fromtimestamp(us / US_PER_SECOND, tz=UTC).replace(
        microsecond=us % US_PER_SECOND
    )


def parse_when(text: str, *, now: int | None = None) -> int:
    """Parse a CLI time: ISO 8601 (``2026-01-31``, ``2026-01-31T10:00:00Z``) or a
    relative span back from now (``30s``, ``15m``, ``2h``, ``7d``, ``2w``).

    Raises:
        ValueError: with a message naming the accepted forms.
    """
    text = text.strip()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
    if text and text[-1] in units and text[:-1].isdigit():
        base = now if now is not None else now_us()
        return base - int(text[:-1]) * units[text[-1]] * US_PER_SECOND
    try:
        return to_us(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        raise ValueError(
            f"cannot read the time {text!r}: use ISO 8601 (2026-01-31 or "
            "2026-01-31T10:00:00Z) or a span back from now such as 30m, 2h, 7d"
        ) from None
