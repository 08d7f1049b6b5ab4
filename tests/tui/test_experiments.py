"""Experiments: the readout per variant, the verdict, and the SRM warning."""

from __future__ import annotations

import msgspec
from sqlalchemy.engine import Engine
from textual.widgets import DataTable

from eventkit.demo.experiment import EXPERIMENT, FLAG
from eventkit.flags.spec import FlagSpec
from eventkit.flags.store import change_flag
from tests.tui.conftest import MakeApp, rows_of, settle, text_of
from tests.tui.oracle import rows


async def test_results_table_and_verdict(make_app: MakeApp, demo_engine: Engine) -> None:
    app = make_app(start="experiments")
    async with app.run_test(size=(140, 42)) as pilot:
        await settle(pilot)
        assert rows_of(app.screen.query_one("#exp-table", DataTable))[0][:2] == [
            EXPERIMENT,
            "running",
        ]
        exposed = dict(rows(
            demo_engine, "SELECT json_extract(properties, '$.\"$feature_flag_variant\"') v, "
            "COUNT(DISTINCT COALESCE(user_id, anonymous_id)) FROM events "
            "WHERE name = '$feature_flag_called' GROUP BY v",
        ))  # fmt: skip
        results = app.screen.query_one("#exp-results", DataTable)
        shown = {r[0].split()[0]: r for r in rows_of(results)}
        assert {k: int(r[1].replace(",", "")) for k, r in shown.items()} == exposed
        assert shown["treatment"][4].startswith("+")  # absolute lift with its interval
        assert "[" in shown["treatment"][3] and "[" in shown["treatment"][4]
        assert "sample ratio as expected" in text_of(app.screen.query_one("#exp-srm"))
        assert "treatment beats control" in text_of(app.screen.query_one("#exp-verdict"))


async def test_sample_ratio_mismatch_is_flagged(make_app: MakeApp, demo_engine: Engine) -> None:
    def skew(s: FlagSpec) -> FlagSpec:  # exposures stay 50/50, the weights now say 90/10
        s.variants = [msgspec.structs.replace(v, weight=w)
                      for v, w in zip(s.variants, (90, 10), strict=True)]  # fmt: skip
        return s

    change_flag(demo_engine, 1, FLAG, skew, action="set", summary="skew", actor="test")
    app = make_app(start="experiments")
    async with app.run_test(size=(140, 42)) as pilot:
        await settle(pilot)
        srm = app.screen.query_one("#exp-srm")
        assert "SAMPLE RATIO MISMATCH" in text_of(srm)
        assert srm.has_class("bad")
        verdict = app.screen.query_one("#exp-verdict")
        assert "Do not trust these results" in text_of(verdict) and verdict.has_class("bad")
