"""`eventkit demo`: realistic traffic with a running experiment that has a real lift."""

from __future__ import annotations

import json

from eventkit.demo.experiment import EXPERIMENT, FLAG
from tests.cli.conftest import Invoke


def test_demo_runs_an_experiment_with_a_real_lift(run: Invoke) -> None:
    result = run("demo", "--users", "800", "--days", "14")
    assert result.exit_code == 0, result.output
    assert f"eventkit experiments results {EXPERIMENT}" in result.output
    flag = json.loads(run("flags", "show", FLAG, "--app", "demo", "-f", "json").stdout)
    assert flag["enabled"] is True
    body = run("experiments", "results", EXPERIMENT, "--app", "demo", "-f", "json")
    assert body.exit_code == 0, body.output
    readout = json.loads(body.stdout)
    by_variant = {v["variant"]: v for v in readout["variants"]}
    control, treatment = by_variant["control"], by_variant["treatment"]
    # Devices split about evenly by the flag's bucketing; everyone is exposed once.
    assert control["exposed"] + treatment["exposed"] == 800
    assert abs(control["exposed"] - treatment["exposed"]) < 100
    # The simulated lift (LIFT = 1.35) shows in the conversion rates.
    assert treatment["rate"] > control["rate"]
