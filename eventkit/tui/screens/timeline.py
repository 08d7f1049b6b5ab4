"""A user's or a session's timeline, opened from the Explorer."""

from __future__ import annotations

import json
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

__all__ = ["TimelineScreen", "session_summary", "user_summary"]


def _props(p: Any) -> str:
    text = json.dumps(p, default=str, separators=(",", ":"))
    return text if len(text) <= 70 else text[:69] + "…"


def user_summary(t: dict[str, Any]) -> tuple[str, list[str], list[tuple[str, ...]]]:
    """Title line, columns and rows of ``eventkit users show``'s data."""
    p = t["profile"]
    devices = ", ".join(p.get("anonymous_ids") or []) or "none linked"
    traits = json.dumps(p.get("traits") or {}, default=str)
    head = (f"[b]user {p['user_id']}[/b]  ·  devices: {devices}  ·  traits: {traits}  ·  "
            f"{len(t['events'])} newest events")  # fmt: skip
    rows: list[tuple[str, ...]] = [
        (
            e["ts"][:19].replace("T", " "),
            e["name"],
            e["session_id"] or "",
            e["platform"] or "",
            e["app_version"] or "",
            _props(e["properties"]),
        )
        for e in t["events"]
    ]
    return head, ["time", "name", "session", "platform", "version", "properties"], rows


def session_summary(
    s: dict[str, Any], timeline: list[dict[str, Any]]
) -> tuple[str, list[str], list[tuple[str, ...]]]:
    """Title line, columns and rows of ``eventkit sessions show``'s data."""
    secs = s["duration_us"] / 1_000_000
    head = (f"[b]session {s['id']}[/b]  ·  {s['user_id'] or s['anonymous_id']}  ·  "
            f"{s['platform'] or ''} {s['app_version'] or ''}  ·  {s['event_count']} events  ·  "
            f"{secs:.0f}s  ·  {s['entry_screen'] or '?'} → {s['exit_screen'] or '?'}"
            f"{'  ·  bounced' if s['bounced'] else ''}")  # fmt: skip
    rows: list[tuple[str, ...]] = [
        (f"+{e['offset_s']:.0f}s", e["time"][11:19], e["name"], _props(e["properties"]))
        for e in timeline
    ]
    return head, ["offset", "time", "name", "properties"], rows


class TimelineScreen(Screen[None]):
    """A title line over a table of events, oldest or newest first."""

    BINDINGS = [Binding("escape,backspace", "app.pop_screen", "Back")]

    def __init__(self, head: str, columns: list[str], rows: list[tuple[str, ...]]) -> None:
        super().__init__(classes="timeline")
        self.head, self.columns, self.rows = head, columns, rows

    def compose(self) -> ComposeResult:
        yield Static(self.head, classes="timeline-head")
        table: DataTable[str] = DataTable(cursor_type="row", zebra_stripes=True)
        table.add_columns(*self.columns)
        table.add_rows(self.rows)
        yield table
        yield Footer()
