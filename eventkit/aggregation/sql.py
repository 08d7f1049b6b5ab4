"""SQL fragments that differ between SQLite and PostgreSQL, shared by rollups and reports."""

from __future__ import annotations

from eventkit.timeutil import US_PER_DAY, US_PER_HOUR

__all__ = ["ACTOR", "BUILTIN_DIMS", "bucket", "dim_expr", "prop_expr"]

#: Who did an event: the user if identified, else the device.
ACTOR = "COALESCE(user_id, anonymous_id)"
#: Event columns rolled up as breakdowns.
BUILTIN_DIMS = ("platform", "app_version", "country")


def bucket(column: str, period: str) -> str:
    """The start of the hour (``h``) or UTC day (``d``) holding ``column`` (epoch µs)."""
    size = US_PER_HOUR if period == "h" else US_PER_DAY
    return f"({column} - ({column} % {size}))"


def _quote_key(key: str) -> str:
    return key.replace("'", "''").replace('"', "")


def prop_expr(dialect: str, key: str) -> str:
    """A top-level event property as text (NULL when absent)."""
    k = _quote_key(key)
    if dialect == "postgresql":
        return f"(properties->>'{k}')"
    return f"CAST(json_extract(properties, '$.\"{k}\"') AS TEXT)"


def dim_expr(dialect: str, dim: str) -> str:
    """The breakdown value of ``dim`` (a column, or ``prop:<key>``) as text, '' if none."""
    if dim in BUILTIN_DIMS:
        return f"SUBSTR(COALESCE({dim}, ''), 1, 200)"
    if dim.startswith("prop:"):
        return f"SUBSTR(COALESCE({prop_expr(dialect, dim[5:])}, ''), 1, 200)"
    raise ValueError(f"unknown breakdown {dim!r}")
