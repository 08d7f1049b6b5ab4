"""Query-parameter parsing shared by the read endpoints."""

from __future__ import annotations

from eventkit.errors import InvalidRequestError
from eventkit.timeutil import parse_when

__all__ = ["time_param"]


def time_param(value: str | None, name: str) -> int | None:
    """An ISO time or a span back (2h, 7d) as epoch microseconds.

    Raises:
        InvalidRequestError: the value is neither; the message names the parameter.
    """
    if value is None:
        return None
    try:
        return parse_when(value)
    except ValueError as exc:
        raise InvalidRequestError(f"{name}: {exc}") from None
