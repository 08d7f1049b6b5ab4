"""Cohort definitions (docs/reports.md#cohorts): who is in a cohort, as data.

A cohort is a set of actors (the user id, else the device id, as in every report)
matching ``all`` (or ``any``) of its conditions:

- ``event``: did ``event`` at least ``min_count`` (and at most ``max_count``) times,
  ever, or ``within_days`` of their first-seen day (their first ``within_days`` UTC
  days), or in the last ``within_days`` days before now (``of = "now"``);
- ``first_seen``: was first seen (any event) on a UTC day in ``[since, until)``;
- ``funnel``: entered ``steps`` (in ``[since, until)``) and reached step ``step``
  (``status = "converted"``), or reached the step before it and stopped there
  (``"dropped"``), within ``window_days``;
- ``property``: the user's profile trait ``attribute`` satisfies ``operator`` and
  ``value`` (the feature-flag operators: eq, neq, in, gt, contains, semver_gte, …);
  devices without a profile never match.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import msgspec

from eventkit.errors import InvalidRequestError
from eventkit.flags.spec import OPERATORS, Condition
from eventkit.flags.spec import _check_condition as check_condition
from eventkit.timeutil import parse_when

__all__ = [
    "CohortCondition",
    "CohortSpec",
    "depends_on_now",
    "parse_spec",
    "spec_from_options",
    "spec_to_dict",
]


class CohortCondition(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """One condition (see the module docstring for each ``type``)."""

    type: Literal["event", "first_seen", "funnel", "property"]
    event: str | None = None
    min_count: int = 1
    max_count: int | None = None
    within_days: int | None = None
    of: Literal["first_seen", "now"] = "first_seen"
    since: str | None = None
    until: str | None = None
    steps: list[str] = []
    step: int = 0
    window_days: int = 1
    status: Literal["converted", "dropped"] = "converted"
    attribute: str | None = None
    operator: str | None = None
    value: Any = None


class CohortSpec(msgspec.Struct, forbid_unknown_fields=True):
    """A cohort's definition."""

    conditions: list[CohortCondition]
    match: Literal["all", "any"] = "all"


def _when(text: str | None, what: str) -> None:
    if text is None:
        return
    try:
        parse_when(text)
    except ValueError as exc:
        raise InvalidRequestError(f"{what}: {exc}") from None


def _check(c: CohortCondition, i: int) -> None:
    where = f"condition {i + 1} ({c.type})"
    if c.type == "event":
        if not c.event:
            raise InvalidRequestError(f"{where}: name the event")
        if c.min_count < 0 or (c.max_count is not None and c.max_count < c.min_count):
            raise InvalidRequestError(f"{where}: need 0 <= min_count <= max_count")
        if c.within_days is not None and not 1 <= c.within_days <= 3650:
            raise InvalidRequestError(f"{where}: within_days must be 1..3650")
    elif c.type == "first_seen":
        if c.since is None and c.until is None:
            raise InvalidRequestError(f"{where}: give since and/or until")
    elif c.type == "funnel":
        if len(c.steps) < 2 or not 1 <= c.step <= len(c.steps):
            raise InvalidRequestError(f"{where}: give 2+ steps and a step number among them")
        if c.status == "dropped" and c.step < 2:
            raise InvalidRequestError(f"{where}: users drop at step 2 or later")
        if not 1 <= c.window_days <= 365:
            raise InvalidRequestError(f"{where}: window_days must be 1..365")
    elif c.type == "property":
        ops = sorted(o for o in OPERATORS if "cohort" not in o)
        if not c.attribute or c.operator not in ops:
            raise InvalidRequestError(
                f"{where}: give an attribute and an operator: {', '.join(ops)}"
            )
        check_condition(where, Condition(c.attribute, c.operator, c.value))
    _when(c.since, f"{where} since")
    _when(c.until, f"{where} until")


def parse_spec(doc: Any) -> CohortSpec:
    """A definition from JSON (text or already decoded), checked.

    Raises:
        InvalidRequestError: naming the offending condition.
    """
    try:
        if isinstance(doc, str | bytes):
            spec = msgspec.json.decode(doc, type=CohortSpec)
        else:
            spec = msgspec.convert(doc, CohortSpec)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise InvalidRequestError(f"invalid cohort definition: {exc}") from None
    if not spec.conditions:
        raise InvalidRequestError("a cohort needs at least one condition")
    for i, c in enumerate(spec.conditions):
        _check(c, i)
    return spec


def spec_to_dict(spec: CohortSpec) -> dict[str, Any]:
    """The JSON form stored in ``cohorts.definition``."""
    out: dict[str, Any] = msgspec.to_builtins(spec)
    return out


def depends_on_now(spec: CohortSpec) -> bool:
    """Whether membership can change with time alone (a rolling window, or a
    relative date such as ``since = "30d"``): such cohorts are refreshed in full."""
    for c in spec.conditions:
        if c.type == "event" and c.within_days is not None and c.of == "now":
            return True
        for t in (c.since, c.until):
            if t is not None and t.strip()[-1:] in "smhdw" and t.strip()[:-1].isdigit():
                return True
    return False


_PROP = re.compile(r"^\s*([^!<>=~\s]+)\s*(!=|>=|<=|=|>|<)\s*(.*)$")
_OPS = {"=": "eq", "!=": "neq", ">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}


def _days(text: str) -> int:
    t = text.strip().lower()
    if t.endswith("d") and t[:-1].isdigit():
        return int(t[:-1])
    if t.endswith("w") and t[:-1].isdigit():
        return 7 * int(t[:-1])
    if t.isdigit():
        return int(t)
    raise InvalidRequestError(f"cannot read {text!r} as days: use 7d, 2w or a number of days")


def spec_from_options(
    *, did: str | None = None, times: int = 1, at_most: int | None = None,
    within: str | None = None, of: str = "first_seen", first_seen: str | None = None,
    funnel: str | None = None, step: int | None = None, window: str = "1d",
    dropped: bool = False, properties: list[str] | None = None, match_any: bool = False,
) -> CohortSpec:  # fmt: skip
    """A definition from the CLI's options (``--did``, ``--first-seen``, ``--funnel``,
    ``--property``); see ``eventkit cohorts create --help``.

    Raises:
        InvalidRequestError: no condition, or a malformed option.
    """
    conds: list[dict[str, Any]] = []
    if did:
        c: dict[str, Any] = {"type": "event", "event": did, "min_count": times}
        if at_most is not None:
            c["max_count"] = at_most
        if within:
            c.update(within_days=_days(within), of=of.replace("-", "_"))
        conds.append(c)
    if first_seen:
        since, sep, until = first_seen.partition("..")
        if not sep:
            raise InvalidRequestError("--first-seen takes START..END (either may be empty)")
        conds.append({"type": "first_seen", "since": since or None, "until": until or None})
    if funnel:
        steps = [s.strip() for s in funnel.split(",") if s.strip()]
        conds.append({"type": "funnel", "steps": steps, "step": step or len(steps),
                      "window_days": _days(window),
                      "status": "dropped" if dropped else "converted"})  # fmt: skip
    for text in properties or []:
        m = _PROP.match(text)
        if m is None:
            raise InvalidRequestError(
                f"cannot read --property {text!r}: use KEY=VALUE, KEY!=VALUE or KEY>=N"
            )
        key, op, raw = m.groups()
        value: Any = raw.strip()
        if op in (">", ">=", "<", "<="):
            try:
                value = float(value)
            except ValueError:
                raise InvalidRequestError(f"--property {text!r}: {op} needs a number") from None
        conds.append({"type": "property", "attribute": key, "operator": _OPS[op], "value": value})
    if not conds:
        raise InvalidRequestError(
            "define the cohort: --did EVENT [--times N --within 7d], --first-seen START..END, "
            "--funnel A,B,C --step K, --property KEY=VALUE, or --definition FILE"
        )
    return parse_spec({"conditions": conds, "match": "any" if match_any else "all"})
