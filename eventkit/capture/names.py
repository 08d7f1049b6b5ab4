"""Reserved event names. Names starting with ``$`` belong to eventkit."""

from __future__ import annotations

__all__ = ["CLIENT_RESERVED", "SERVER_RESERVED", "check_name"]

#: Lifecycle events clients may send (docs/event_tracking_schema.md).
CLIENT_RESERVED = frozenset(
    {
        "$session_start",
        "$session_end",
        "$app_foreground",
        "$app_background",
        "$screen",
        "$crash",
        "$error",
    }
)
#: Names eventkit writes itself; clients use the matching endpoint instead.
SERVER_RESERVED = frozenset({"$identify", "$feature_flag_called"})


def check_name(name: str) -> str | None:
    """Why a client may not send ``name``, or None when it may."""
    if not name.startswith("$") or name in CLIENT_RESERVED:
        return None
    if name in SERVER_RESERVED:
        how = "POST /v1/identify" if name == "$identify" else "POST /v1/flags/evaluate"
        return f"{name} is written by eventkit; use {how} instead"
    allowed = ", ".join(sorted(CLIENT_RESERVED))
    return f"names starting with '$' are reserved; the ones clients may send are: {allowed}"
