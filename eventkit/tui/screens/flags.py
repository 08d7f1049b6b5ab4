"""Flags: state and rollout; toggle, change the rollout, edit rules (each after a
confirmation), and the flag's audited history."""

from __future__ import annotations

import json

import msgspec
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Static

from eventkit.flags.spec import FlagSpec
from eventkit.flags.store import FlagRecord, HistoryEntry
from eventkit.flags.summary import who_gets_what
from eventkit.tui.format import short_time
from eventkit.tui.screens.base import DashboardScreen
from eventkit.tui.screens.modals import ConfirmModal, PromptModal, RulesModal
from eventkit.tui.widgets.columns import add_columns

__all__ = ["FlagsScreen", "rollout_of", "rule_text"]


def rollout_of(spec: FlagSpec) -> str:
    """What ``eventkit flags rollout`` changes: the last rule's percentage."""
    if not spec.rules:
        return "no rules"
    return f"{spec.rules[-1].rollout:g}%"


def rule_text(spec: FlagSpec) -> list[str]:
    """One line per rule: conditions, rollout and what it serves."""
    out = []
    for i, r in enumerate(spec.rules, 1):
        cond = (
            " and ".join(
                f"{c.attribute} {c.operator} {c.value if c.value is not None else ''}".strip()
                for c in r.conditions
            )
            or "everyone"
        )
        out.append(f"{i}. {cond} → {r.rollout:g}% get {r.variant or 'the split'}")
    return out


class FlagsScreen(DashboardScreen):
    """The flag list, the highlighted flag's definition and its history."""

    MODE = "flags"
    BINDINGS = [
        Binding("t,space", "toggle_flag", "Toggle on/off"),
        Binding("o", "rollout", "Rollout %"),
        Binding("e", "rules", "Edit rules"),
        Binding("r", "reload", "Refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.records: list[FlagRecord] = []

    def body(self) -> ComposeResult:
        with Horizontal(id="flags"):
            table: DataTable[str | Text] = DataTable(id="flag-table", cursor_type="row")
            add_columns(
                table,
                (
                    ("flag", 22),
                    ("state", 6),
                    ("type", 7),
                    ("rollout", 8),
                    ("rules", 5),
                    ("version", 7),
                ),
            )
            yield table
            with Vertical(id="flag-side"):
                yield Static("", id="flag-detail", classes="panel")
                yield Static("History", classes="panel-title")
                history: DataTable[str] = DataTable(id="flag-history", cursor_type="row")
                for label, width in (
                    ("version", 7),
                    ("when (UTC)", 19),
                    ("who", 16),
                    ("change", 40),
                ):
                    history.add_column(label, width=width)
                yield history

    @property
    def table(self) -> DataTable[str | Text]:
        """The flag list."""
        return self.query_one("#flag-table", DataTable)

    @property
    def current(self) -> FlagRecord | None:
        """The highlighted flag."""
        row = self.table.cursor_row
        return self.records[row] if 0 <= row < len(self.records) else None

    def on_mount(self) -> None:
        self.refresh_data()
        self.table.focus()

    def refresh_data(self) -> None:
        if self.data.ready:
            self.load(self.data.flags, self._listed, group="flags")

    def _listed(self, records: list[FlagRecord]) -> None:
        keep = self.current.spec.key if self.current else None
        self.records = records
        t = self.table
        t.clear()
        for r in records:
            s = r.spec
            state = Text("● on", style="bold green") if s.enabled else Text("○ off", style="dim")
            t.add_row(s.key, state, s.type, rollout_of(s), str(len(s.rules)), f"v{r.version}")
        if not records:
            self.query_one("#flag-detail", Static).update(
                "No flags yet. Create one with `eventkit flags create KEY --app APP` "
                "(docs/feature_flags.md), or run `eventkit demo` for an example."
            )
            return
        index = next((i for i, r in enumerate(records) if r.spec.key == keep), 0)
        t.move_cursor(row=index, animate=False)
        self._detail()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "flag-table":
            self._detail()

    def _detail(self) -> None:
        r = self.current
        if r is None:
            return
        s = r.spec
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column()
        grid.add_row("flag", Text(s.key, style="bold"))
        grid.add_row("", s.description or "")
        grid.add_row("serves", who_gets_what(s))
        grid.add_row("variants", ", ".join(f"{v.key}={json.dumps(v.value)} ({v.weight:g})"
                                            for v in s.variants))  # fmt: skip
        grid.add_row("default", s.default_variant)
        grid.add_row("bucket by", s.bucket_by)
        grid.add_row("rules", "\n".join(rule_text(s)) or "none")
        self.query_one("#flag-detail", Static).update(grid)
        key, data = s.key, self.data
        self.load(lambda: data.flag_history(key), self._history, group="history")

    def _history(self, entries: list[HistoryEntry]) -> None:
        t = self.query_one("#flag-history", DataTable)
        t.clear()
        for h in reversed(entries):
            t.add_row(f"v{h.version}", short_time(h.at), h.actor, h.summary)

    def _changed(self, record: FlagRecord) -> None:
        self.notify(f"{record.spec.key} is now v{record.version}", title="flag saved")
        self.refresh_data()

    def action_toggle_flag(self) -> None:
        """Enable or disable the highlighted flag (after a confirmation)."""
        r = self.current
        if r is None:
            return
        key, on, data = r.spec.key, not r.spec.enabled, self.data
        what = "Enable" if on else "Disable"
        after = msgspec.structs.replace(r.spec, enabled=on)
        detail = f"Afterwards: {who_gets_what(after)}."

        def answered(yes: bool | None) -> None:
            if yes:
                self.load(lambda: data.set_enabled(key, on), self._changed, group="change")

        self.app.push_screen(
            ConfirmModal(
                f"{what} flag {key}?",
                f"{detail}\nServers pick the change up within "
                "about a second. It is recorded in the flag's history.",
            ),
            answered,
        )

    def action_rollout(self) -> None:
        """Change the rollout percentage of the highlighted flag's last rule."""
        r = self.current
        if r is None:
            return
        key, data = r.spec.key, self.data
        now = r.spec.rules[-1].rollout if r.spec.rules else 100.0

        def confirmed(percent: float) -> None:
            self.load(lambda: data.set_rollout(key, percent), self._changed, group="change")

        def entered(text: str | None) -> None:
            if text is None:
                return
            try:
                percent = float(text.strip().rstrip("%"))
            except ValueError:
                self.dash.show_error(f"{text!r} is not a percentage: type a number 0-100")
                return
            self.app.push_screen(
                ConfirmModal(f"Roll {key} out to {percent:g}%?",
                             f"The last rule goes from {now:g}% to {percent:g}% of the ids it "
                             "matches. Ids keep their bucket, so raising it only adds people."),
                lambda yes: confirmed(percent) if yes else None,
            )  # fmt: skip

        self.app.push_screen(PromptModal(f"Rollout % for {key}", f"{now:g}", "0-100"), entered)

    def action_rules(self) -> None:
        """Edit the highlighted flag's rules as JSON (saved after a confirmation)."""
        r = self.current
        if r is None:
            return
        key, data = r.spec.key, self.data
        text = json.dumps(msgspec.to_builtins(r.spec.rules), indent=2)

        def edited(new: str | None) -> None:
            if new is None or new.strip() == text.strip():
                return
            try:
                count = len(json.loads(new))
            except (ValueError, TypeError):
                count = 0
            self.app.push_screen(
                ConfirmModal(f"Save the rules of {key}?",
                             f"{count} rule(s) replace the current {len(r.spec.rules)}. The "
                             "old version stays in the history."),
                lambda yes: self.load(lambda: data.set_rules(key, new), self._changed,
                                      group="change") if yes else None,
            )  # fmt: skip

        self.app.push_screen(RulesModal(key, text), edited)
