"""Flags and Experiments: lists, definitions, history and readouts for members;
editors change flags (enable, rollout, rules) and experiments (start, stop, ship)
after a confirmation showing the change, recorded in the audit history under their
name. Share links never see flags."""

from __future__ import annotations

from typing import Any

import msgspec

from eventkit.errors import InvalidRequestError, PermissionDeniedError
from eventkit.experiments.analysis import readout
from eventkit.experiments.present import experiment_row, readout_dict
from eventkit.experiments.store import get_experiment, list_experiments, set_status, ship_variant
from eventkit.flags.present import flag_detail, flag_summary, history_row
from eventkit.flags.spec import FlagSpec
from eventkit.flags.store import (
    FlagRecord,
    get_flag,
    history,
    list_flags,
    parse_rules,
    set_enabled,
    set_rollout,
    set_rules,
)
from eventkit.web.view import Page, View

__all__ = [
    "FLAG_ACTIONS",
    "apply_experiment_change",
    "apply_flag_change",
    "experiment",
    "experiments",
    "flag",
    "flag_change_preview",
    "flags",
]

FLAG_ACTIONS = ("enable", "disable", "rollout", "rules")
EXPERIMENT_ACTIONS = ("start", "stop", "ship")


def _members_only(v: View) -> None:
    if v.principal.is_share:
        raise PermissionDeniedError("a share link does not show flags")


def flags(v: View) -> Page:
    """The app's flags (``eventkit flags list``)."""
    _members_only(v)
    rows = [flag_summary(r) for r in list_flags(v.engine, v.app.id, archived=v.flag("archived"))]
    return Page("flags.html", "Flags", {"flags": rows}, rows, rows, None)


def _rules_json(spec: FlagSpec) -> str:
    return msgspec.json.format(msgspec.json.encode(spec.rules), indent=2).decode()


def flag(v: View, key: str) -> Page:
    """A flag's definition and history (``flags show``; ``?view=history``: ``flags
    history``)."""
    _members_only(v)
    rec = get_flag(v.engine, v.app.id, key)
    changes = [history_row(h) for h in history(v.engine, v.app.id, key)]
    ctx = {
        "flag": flag_detail(rec),
        "rec": rec,
        "history": list(reversed(changes)),
        "rules_json": _rules_json(rec.spec),
        "can_edit": v.principal.can("edit"),
    }
    if v.arg("view") == "history":
        return Page("flag.html", f"Flag {key}", ctx, changes, changes, None)
    detail = flag_detail(rec)
    return Page("flag.html", f"Flag {key}", ctx, detail, [detail], None)


def _describe(rec: FlagRecord) -> dict[str, str]:
    s = rec.spec
    return {
        "enabled": "on" if s.enabled else "off",
        "rollout": f"{s.rules[-1].rollout:g}%" if s.rules else "no rules",
        "rules": _rules_json(s),
    }


def flag_change_preview(v: View, key: str, action: str, value: str) -> dict[str, object]:
    """What a change would do, for the confirmation page (nothing is written)."""
    if action not in FLAG_ACTIONS:
        raise InvalidRequestError(f"action must be one of {', '.join(FLAG_ACTIONS)}")
    rec = get_flag(v.engine, v.app.id, key)
    before = _describe(rec)
    after = dict(before)
    if action in ("enable", "disable"):
        after["enabled"] = "on" if action == "enable" else "off"
    elif action == "rollout":
        after["rollout"] = f"{_percent(value):g}%"
    else:
        after["rules"] = msgspec.json.format(
            msgspec.json.encode(parse_rules(value)), indent=2
        ).decode()
    changed = [k for k in before if before[k] != after[k]]
    return {
        "key": key,
        "action": action,
        "value": value,
        "before": before,
        "after": after,
        "changed": changed,
        "version": rec.version,
    }


def _percent(value: str) -> float:
    try:
        pct = float(value.strip().rstrip("%"))
    except ValueError:
        raise InvalidRequestError("rollout must be a number of percent, e.g. 25") from None
    if not 0 <= pct <= 100:
        raise InvalidRequestError("rollout must be between 0 and 100 percent")
    return pct


def apply_flag_change(v: View, key: str, action: str, value: str) -> FlagRecord:
    """Make a confirmed change, audited with the member's name."""
    if not v.principal.can("edit"):
        raise PermissionDeniedError("changing flags needs the editor or admin role")
    actor = v.principal.actor
    if action in ("enable", "disable"):
        return set_enabled(v.engine, v.app.id, key, action == "enable", actor=actor)
    if action == "rollout":
        return set_rollout(v.engine, v.app.id, key, _percent(value), actor=actor)
    if action == "rules":
        return set_rules(v.engine, v.app.id, key, parse_rules(value), actor=actor)
    raise InvalidRequestError(f"action must be one of {', '.join(FLAG_ACTIONS)}")


def experiments(v: View) -> Page:
    """The app's experiments (``eventkit experiments list``)."""
    rows = [experiment_row(r) for r in list_experiments(v.engine, v.app.id)]
    return Page("experiments.html", "Experiments", {"experiments": rows}, rows, rows, None)


def experiment(v: View, key: str) -> Page:
    """The readout with its verdict and SRM check (``experiments results``)."""
    rec = get_experiment(v.engine, v.app.id, key)
    row = experiment_row(rec)
    if rec.started_at is None:
        ctx: dict[str, Any] = {"exp": row, "readout": None, "can_edit": v.principal.can("edit")}
        return Page("experiment.html", f"Experiment {key}", ctx, row, [row], None)
    r = readout(v.engine, v.app.id, rec)
    data = readout_dict(r, rec.status)
    ctx = {"exp": row, "readout": r, "data": data, "can_edit": v.principal.can("edit")}
    return Page("experiment.html", f"Experiment {key}", ctx, data, [data], None)


def apply_experiment_change(v: View, key: str, action: str, variant: str) -> None:
    """Start, stop, or ship a variant (editors; the flag change is audited)."""
    if not v.principal.can("edit"):
        raise PermissionDeniedError("changing experiments needs the editor or admin role")
    if action == "ship":
        ship_variant(v.engine, v.app.id, key, variant, actor=v.principal.actor)
    elif action in ("start", "stop"):
        set_status(v.engine, v.app.id, key, "running" if action == "start" else "stopped")
    else:
        raise InvalidRequestError(f"action must be one of {', '.join(EXPERIMENT_ACTIONS)}")
