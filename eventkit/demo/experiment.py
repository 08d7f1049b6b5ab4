"""The running A/B experiment in the demo data.

Flag ``new_checkout`` splits devices 50/50 into ``control`` and ``treatment`` with the
real evaluator; experiment ``checkout-test`` measures ``purchase_completed`` within 7
days of first exposure. Treatment users buy more often (``LIFT``), so
``eventkit experiments results checkout-test`` shows a real effect. Exposures are the
same ``$feature_flag_called`` events the evaluate endpoints record.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from eventkit.capture.schema import CanonicalEvent
from eventkit.demo.simulate import SimUser
from eventkit.errors import NotFoundError
from eventkit.experiments.store import (
    ExperimentSpec,
    Metric,
    create_experiment,
    get_experiment,
    set_status,
)
from eventkit.flags.evaluator import Evaluation, Evaluator
from eventkit.flags.exposure import exposure_event
from eventkit.flags.spec import FlagSpec, Rule, Variant
from eventkit.flags.store import create_flag, get_flag

__all__ = ["EXPERIMENT", "FLAG", "LIFT", "DemoExperiment", "install_demo_experiment"]

FLAG = "new_checkout"
EXPERIMENT = "checkout-test"
#: Purchase probability of treatment relative to control.
LIFT = 1.35

_FLAG_SPEC = FlagSpec(
    key=FLAG,
    type="string",
    description="Demo: the new one-page checkout",
    enabled=True,
    variants=[
        Variant(key="control", value="classic", weight=50),
        Variant(key="treatment", value="one-page", weight=50),
    ],
    rules=[Rule(rollout=100.0, description="everyone, split 50/50")],
    default_variant="control",
    off_variant="control",
    bucket_by="device",
)
_EXPERIMENT_SPEC = ExperimentSpec(
    key=EXPERIMENT,
    flag=FLAG,
    control="control",
    variants=["control", "treatment"],
    primary=Metric(kind="conversion", event="purchase_completed"),
    secondary=[Metric(kind="mean", event="purchase_completed", property="amount")],
    window_hours=7 * 24,
    description="Demo: does the one-page checkout sell more?",
)


class DemoExperiment:
    """Assigns simulated users with the flag's real evaluator."""

    def __init__(self, app_id: int, spec: FlagSpec = _FLAG_SPEC) -> None:
        self.app_id = app_id
        self.evaluator = Evaluator([spec])

    def _context(self, u: SimUser) -> dict[str, Any]:
        return {"user_id": u.user_id, "anonymous_id": u.anonymous_id,
                "platform": u.platform, "country": u.country}  # fmt: skip

    def evaluate(self, u: SimUser) -> Evaluation:
        """The user's variant, as the evaluate endpoint would serve it."""
        return self.evaluator.evaluate(FLAG, self._context(u))

    def purchase_multiplier(self, u: SimUser) -> float:
        """``LIFT`` for treatment users, 1 for control."""
        return LIFT if self.evaluate(u).variant == "treatment" else 1.0

    def exposure(self, u: SimUser, at_us: int) -> CanonicalEvent | None:
        """The exposure event of the user's first session."""
        return exposure_event(self.app_id, self.evaluate(u), self._context(u), at_us)


def install_demo_experiment(engine: Engine, app_id: int, started_at: int) -> DemoExperiment:
    """Create the flag and the experiment (if missing) and start the experiment at
    ``started_at`` (the start of the simulated period)."""
    try:
        get_flag(engine, app_id, FLAG)
    except NotFoundError:
        create_flag(engine, app_id, _FLAG_SPEC, actor="cli:demo")
    try:
        rec = get_experiment(engine, app_id, EXPERIMENT)
    except NotFoundError:
        rec = create_experiment(engine, app_id, _EXPERIMENT_SPEC)
    if rec.status == "draft":
        set_status(engine, app_id, EXPERIMENT, "running", at=started_at)
    return DemoExperiment(app_id)
