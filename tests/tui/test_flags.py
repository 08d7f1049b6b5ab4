"""Flags: toggle, rollout and rules edits, each confirmed, stored and in the history."""

from __future__ import annotations

import json

from sqlalchemy.engine import Engine
from textual.widgets import DataTable, Input, TextArea

from eventkit.demo.experiment import FLAG
from eventkit.flags.store import get_flag, history
from eventkit.tui.screens.flags import FlagsScreen
from eventkit.tui.screens.modals import ConfirmModal, ErrorModal, PromptModal, RulesModal
from tests.tui.conftest import MakeApp, rows_of, settle, text_of


async def test_toggle_asks_first_and_lands_in_history(
    make_app: MakeApp, demo_engine: Engine
) -> None:
    app = make_app(start="flags")
    async with app.run_test(size=(140, 42)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#flag-table", DataTable)
        assert rows_of(table)[0][:2] == [FLAG, "● on"]
        await pilot.press("t")
        assert isinstance(app.screen, ConfirmModal)
        assert f"Disable flag {FLAG}?" in app.screen.title_text
        await pilot.press("n")
        await settle(pilot)
        assert get_flag(demo_engine, 1, FLAG).spec.enabled  # cancelled: unchanged

        await pilot.press("t")
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, FlagsScreen)
        rec = get_flag(demo_engine, 1, FLAG)
        assert not rec.spec.enabled and rec.version == 2
        last = history(demo_engine, 1, FLAG)[-1]
        assert last.action == "disable" and last.actor.startswith("tui")
        assert rows_of(table)[0][1] == "○ off"
        shown = rows_of(app.screen.query_one("#flag-history", DataTable))
        assert shown[0][0] == "v2" and shown[0][3] == "disabled"


async def test_rollout_and_rules_edit(make_app: MakeApp, demo_engine: Engine) -> None:
    app = make_app(start="flags")
    async with app.run_test(size=(140, 42)) as pilot:
        await settle(pilot)
        await pilot.press("o")
        assert isinstance(app.screen, PromptModal)
        field = app.screen.query_one(Input)
        assert field.value == "100"
        field.value = "25"
        await pilot.press("enter")
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("y")
        await settle(pilot)
        assert get_flag(demo_engine, 1, FLAG).spec.rules[-1].rollout == 25.0
        assert "25%" in rows_of(app.screen.query_one("#flag-table", DataTable))[0]

        await pilot.press("e")
        assert isinstance(app.screen, RulesModal)
        editor = app.screen.query_one(TextArea)
        rules = json.loads(editor.text)
        rules.insert(0, {"conditions": [{"attribute": "platform", "operator": "eq",
                                         "value": "ios"}], "rollout": 100.0,
                         "variant": "treatment", "description": "iOS first"})  # fmt: skip
        editor.text = json.dumps(rules)
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("y")
        await settle(pilot)
        spec = get_flag(demo_engine, 1, FLAG).spec
        assert [r.variant for r in spec.rules] == ["treatment", None]
        assert "1. platform eq ios → 100% get treatment" in text_of(
            app.screen.query_one("#flag-detail")
        )
        assert [h.action for h in history(demo_engine, 1, FLAG)] == ["create", "rollout", "rules"]


async def test_invalid_rules_are_refused_with_a_message(
    make_app: MakeApp, demo_engine: Engine
) -> None:
    app = make_app(start="flags")
    async with app.run_test(size=(140, 42)) as pilot:
        await settle(pilot)
        await pilot.press("e")
        app.screen.query_one(TextArea).text = '[{"rollout": 50, "colour": "red"}]'
        await pilot.press("ctrl+s")
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, ErrorModal)
        assert "colour" in text_of(app.screen.query_one("#error-message"))
        assert get_flag(demo_engine, 1, FLAG).version == 1
