"""Flags as JSON-ready dicts: the shapes ``eventkit flags list|show|history`` print and
the web dashboard's ``.json`` pages serve."""

from __future__ import annotations

from typing import Any

import msgspec

from eventkit.flags.store import FlagRecord, HistoryEntry
from eventkit.flags.summary import who_gets_what
from eventkit.timeutil import from_us

__all__ = ["flag_detail", "flag_summary", "history_row"]


def flag_summary(r: FlagRecord) -> dict[str, Any]:
    """One row of ``flags list``."""
    s = r.spec
    return {
        "key": s.key,
        "serves": who_gets_what(s),
        "type": s.type,
        "enabled": s.enabled,
        "archived": s.archived,
        "variants": {v.key: v.value for v in s.variants},
        "rules": len(s.rules),
        "version": r.version,
        "description": s.description,
    }


def flag_detail(r: FlagRecord) -> dict[str, Any]:
    """The whole definition (``flags show``)."""
    doc: dict[str, Any] = msgspec.to_builtins(r.spec)
    doc["version"] = r.version
    doc["updated_at"] = from_us(r.updated_at).isoformat(timespec="seconds")
    return doc


def history_row(h: HistoryEntry) -> dict[str, Any]:
    """One change (``flags history``)."""
    return {
        "version": h.version,
        "action": h.action,
        "summary": h.summary,
        "actor": h.actor,
        "at": from_us(h.at).isoformat(timespec="seconds"),
        "enabled": h.spec.enabled,
    }
