"""Feature flags: definitions, targeting, stable bucketing, evaluation, audit history.

Evaluate flags in-process with :class:`eventkit.flags.evaluator.Evaluator`; the HTTP
API (``/v1/flags/evaluate``, OFREP) and the CLI are thin layers over the same code.
See docs/feature_flags.md.
"""

from eventkit.flags.evaluator import Evaluation, Evaluator
from eventkit.flags.spec import Condition, FlagSpec, Rule, Variant

__all__ = ["Condition", "Evaluation", "Evaluator", "FlagSpec", "Rule", "Variant"]
