"""``eventkit flags``: create, change, inspect and evaluate feature flags."""

from __future__ import annotations

import getpass
from typing import Annotated, Any

import msgspec
import typer

from eventkit.cli.context import state
from eventkit.cli.options import AppOption, one_app
from eventkit.cli.output import Format, FormatOption, console, render, render_one
from eventkit.errors import InvalidRequestError
from eventkit.flags.evaluator import Evaluator
from eventkit.flags.parse import parse_assignment, parse_condition
from eventkit.flags.present import flag_detail, flag_summary, history_row
from eventkit.flags.spec import FlagSpec, FlagType, Rule, Variant, default_variants
from eventkit.flags.store import (
    FlagRecord,
    change_flag,
    create_flag,
    get_flag,
    history,
    list_flags,
    load_cohorts,
    restore_flag,
    set_enabled,
    set_rollout,
)
from eventkit.flags.summary import who_gets_what

__all__ = ["app", "app_id_of", "cli_actor"]

app = typer.Typer(help="Feature flags: targeting, rollouts, history.", no_args_is_help=True)

KeyArg = Annotated[str, typer.Argument(help="Flag key.")]
VariantOpt = Annotated[
    list[str] | None,
    typer.Option("--variant", help="NAME=VALUE (JSON or text); repeat for each variant."),
]
SplitOpt = Annotated[
    list[str] | None, typer.Option("--split", help="NAME=WEIGHT; repeat. Default: equal.")
]


def cli_actor() -> str:
    """Who the audit history names for a CLI change."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def app_id_of(ctx: typer.Context, name: str | None) -> int:
    """The id of the app the command is about (the one ``--app`` rule, see
    :mod:`eventkit.cli.options`)."""
    return one_app(state(ctx).engine(), name).id


def _variants(
    base: list[Variant], variants: list[str] | None, split: list[str] | None
) -> list[Variant]:
    out = [msgspec.structs.replace(v) for v in base]
    if variants:
        out = [Variant(k, v, 0.0) for k, v in (parse_assignment(t, "--variant") for t in variants)]
        for v in out:
            v.weight = 100.0 / len(out)
    if split:
        weights = dict(parse_assignment(t, "--split") for t in split)
        for v in out:
            w = weights.pop(v.key, 0.0)
            if not isinstance(w, int | float):
                raise InvalidRequestError(f"--split weight for {v.key!r} must be a number")
            v.weight = float(w)
        if weights:
            raise InvalidRequestError(f"--split names unknown variants: {', '.join(weights)}")
    return out


def _show(r: FlagRecord, fmt: Format) -> None:
    render_one(flag_detail(r), fmt, title=f"flag {r.spec.key} (v{r.version})")
    if fmt is Format.table:
        console.print(who_gets_what(r.spec), highlight=False, markup=False, soft_wrap=True)


@app.command("create")
def create(
    ctx: typer.Context,
    key: KeyArg,
    app_name: AppOption = None,
    flag_type: Annotated[FlagType, typer.Option("--type", help="Value type.")] = "boolean",
    description: Annotated[str, typer.Option(help="What the flag controls.")] = "",
    variant: VariantOpt = None,
    split: SplitOpt = None,
    default: Annotated[
        str | None, typer.Option(help="Variant served when no rule matches.")
    ] = None,
    off: Annotated[str | None, typer.Option(help="Variant served while disabled.")] = None,
    bucket_by: Annotated[str, typer.Option(help="user or device.")] = "user",
    exposures: Annotated[bool, typer.Option(help="Record exposure events.")] = True,
    enable: Annotated[bool, typer.Option("--enable", help="Enable right away.")] = False,
    fmt: FormatOption = Format.table,
) -> None:
    """Create a flag (disabled unless --enable). Booleans get variants on (true) and off
    (false): enabled without rules, everyone gets true."""
    vs = _variants(default_variants(flag_type), variant, split)
    names = [v.key for v in vs]
    fallback = "off" if "off" in names else names[0]
    if bucket_by not in ("user", "device"):
        raise InvalidRequestError("--bucket-by must be user or device")
    spec = FlagSpec(
        key=key,
        type=flag_type,
        description=description,
        enabled=enable,
        variants=vs,
        default_variant=default or fallback,
        off_variant=off or fallback,
        bucket_by=bucket_by,  # type: ignore[arg-type]
        exposures=exposures,
    )
    _show(create_flag(state(ctx).engine(), app_id_of(ctx, app_name), spec, actor=cli_actor()), fmt)


@app.command("list")
def list_(
    ctx: typer.Context,
    app_name: AppOption = None,
    archived: Annotated[bool, typer.Option("--archived", help="Include archived flags.")] = False,
    fmt: FormatOption = Format.table,
) -> None:
    """List the app's flags."""
    rows = [
        flag_summary(r)
        for r in list_flags(state(ctx).engine(), app_id_of(ctx, app_name), archived=archived)
    ]
    render(rows, fmt, title="flags", empty="no flags yet: `eventkit flags create KEY --app APP`")


@app.command("show")
def show(
    ctx: typer.Context, key: KeyArg, app_name: AppOption = None, fmt: FormatOption = Format.table
) -> None:
    """Show a flag's full definition."""
    _show(get_flag(state(ctx).engine(), app_id_of(ctx, app_name), key), fmt)


def _change(
    ctx: typer.Context,
    app_name: str | None,
    key: str,
    mutate: Any,
    action: str,
    summary: str,
    fmt: Format,
) -> None:
    rec = change_flag(
        state(ctx).engine(),
        app_id_of(ctx, app_name),
        key,
        mutate,
        action=action,
        summary=summary,
        actor=cli_actor(),
    )
    _show(rec, fmt)


@app.command("set")
def set_(
    ctx: typer.Context,
    key: KeyArg,
    app_name: AppOption = None,
    description: Annotated[str | None, typer.Option(help="New description.")] = None,
    variant: VariantOpt = None,
    split: SplitOpt = None,
    default: Annotated[str | None, typer.Option(help="Variant when no rule matches.")] = None,
    off: Annotated[str | None, typer.Option(help="Variant while disabled.")] = None,
    bucket_by: Annotated[str | None, typer.Option(help="user or device.")] = None,
    salt: Annotated[str | None, typer.Option(help="New salt (reshuffles everyone).")] = None,
    exposures: Annotated[bool | None, typer.Option(help="Record exposures.")] = None,
    archived: Annotated[bool | None, typer.Option("--archive/--unarchive", help="Archive.")] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Change a flag's settings, variants or weights."""
    changed: list[str] = []

    def mutate(s: FlagSpec) -> FlagSpec:
        if variant or split:
            s.variants = _variants(s.variants, variant, split)
            changed.append("variants")
        for name, value in (
            ("description", description),
            ("default_variant", default),
            ("off_variant", off),
            ("bucket_by", bucket_by),
            ("salt", salt),
            ("exposures", exposures),
            ("archived", archived),
        ):
            if value is not None:
                setattr(s, name, value)
                changed.append(f"{name}={value}")
        return s

    _change(
        ctx, app_name, key, mutate, "set", "set " + ", ".join(changed) if changed else "set", fmt
    )


def _enabled(ctx: typer.Context, app_name: str | None, key: str, on: bool, fmt: Format) -> None:
    engine = state(ctx).engine()
    _show(set_enabled(engine, app_id_of(ctx, app_name), key, on, actor=cli_actor()), fmt)


@app.command("enable")
def enable(
    ctx: typer.Context, key: KeyArg, app_name: AppOption = None, fmt: FormatOption = Format.table
) -> None:
    """Turn a flag on: everyone gets it (a boolean: true) unless rules say otherwise."""
    _enabled(ctx, app_name, key, True, fmt)


@app.command("disable")
def disable(
    ctx: typer.Context, key: KeyArg, app_name: AppOption = None, fmt: FormatOption = Format.table
) -> None:
    """Turn a flag off: everyone gets the off variant."""
    _enabled(ctx, app_name, key, False, fmt)


@app.command("rollout")
def rollout(
    ctx: typer.Context,
    key: KeyArg,
    percent: Annotated[float, typer.Argument(help="0-100.", min=0, max=100)],
    app_name: AppOption = None,
    rule: Annotated[int | None, typer.Option(help="Rule number (default: the last).")] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Set a rule's rollout percentage; a flag without rules gets an everyone rule."""
    engine = state(ctx).engine()
    rec = set_rollout(engine, app_id_of(ctx, app_name), key, percent, actor=cli_actor(), rule=rule)
    _show(rec, fmt)


@app.command("rules")
def rules(
    ctx: typer.Context,
    key: KeyArg,
    app_name: AppOption = None,
    add: Annotated[
        list[str] | None,
        typer.Option(
            "--when", help="Condition 'ATTRIBUTE OPERATOR VALUE' of a new rule; repeat (all hold)."
        ),
    ] = None,
    everyone: Annotated[
        bool, typer.Option("--everyone", help="Add a rule without conditions.")
    ] = False,
    rollout_: Annotated[float, typer.Option("--rollout", help="New rule's rollout %.")] = 100.0,
    variant: Annotated[str | None, typer.Option(help="New rule serves this variant.")] = None,
    position: Annotated[
        int | None, typer.Option(help="Insert at this position (1 = first).")
    ] = None,
    remove: Annotated[int | None, typer.Option(help="Remove rule number N.")] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Remove every rule.")] = False,
    fmt: FormatOption = Format.table,
) -> None:
    """Show a flag's ordered targeting rules, or add, insert, remove and clear them."""
    engine, app_id = state(ctx).engine(), app_id_of(ctx, app_name)
    if add or everyone or remove is not None or clear:
        what = [
            "cleared rules" if clear else "",
            f"removed rule {remove}" if remove is not None else "",
            "added rule: " + " and ".join(add or ["everyone"]) if add or everyone else "",
        ]

        def mutate(s: FlagSpec) -> FlagSpec:
            if clear:
                s.rules = []
            if remove is not None:
                if not 1 <= remove <= len(s.rules):
                    raise InvalidRequestError(f"flag {key!r} has no rule {remove}")
                del s.rules[remove - 1]
            if add or everyone:
                new = Rule([parse_condition(c) for c in add or []], rollout_, variant)
                at = len(s.rules) if position is None else max(position - 1, 0)
                s.rules.insert(at, new)
            return s

        change_flag(
            engine,
            app_id,
            key,
            mutate,
            action="rules",
            summary="; ".join(w for w in what if w),
            actor=cli_actor(),
        )
    spec = get_flag(engine, app_id, key).spec
    rows = [
        {
            "rule": i,
            "conditions": " and ".join(
                f"{c.attribute} {c.operator} {c.value if c.value is not None else ''}".strip()
                for c in r.conditions
            )
            or "everyone",
            "rollout": r.rollout,
            "variant": r.variant or "(split)",
        }
        for i, r in enumerate(spec.rules, 1)
    ]
    render(
        rows,
        fmt,
        title=f"rules of {key}",
        empty=f"{key} has no rules",
    )
    if fmt is Format.table:
        console.print(who_gets_what(spec), highlight=False, markup=False, soft_wrap=True)


@app.command("history")
def history_(
    ctx: typer.Context, key: KeyArg, app_name: AppOption = None, fmt: FormatOption = Format.table
) -> None:
    """Every change to a flag: version, what, when and who."""
    rows = [history_row(h) for h in history(state(ctx).engine(), app_id_of(ctx, app_name), key)]
    render(rows, fmt, title=f"history of {key}")


@app.command("restore")
def restore(
    ctx: typer.Context,
    key: KeyArg,
    version: Annotated[int, typer.Argument(help="Version from `eventkit flags history`.")],
    app_name: AppOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Make an earlier version current again (recorded as a new version)."""
    _show(
        restore_flag(
            state(ctx).engine(), app_id_of(ctx, app_name), key, version, actor=cli_actor()
        ),
        fmt,
    )


@app.command("evaluate")
def evaluate(
    ctx: typer.Context,
    app_name: AppOption = None,
    key: Annotated[str | None, typer.Argument(help="One flag (default: all).")] = None,
    user: Annotated[str | None, typer.Option(help="user_id.")] = None,
    device: Annotated[str | None, typer.Option(help="anonymous_id (device).")] = None,
    attr: Annotated[
        list[str] | None,
        typer.Option(help="NAME=VALUE attribute (platform, app_version, country...); repeat."),
    ] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Evaluate flags locally for a user, as the API would (no exposure recorded)."""
    engine, app_id = state(ctx).engine(), app_id_of(ctx, app_name)
    context: dict[str, Any] = dict(parse_assignment(a, "--attr") for a in attr or [])
    if user:
        context["user_id"] = user
    if device:
        context["anonymous_id"] = device
    specs = [r.spec for r in list_flags(engine, app_id)]
    evaluator = Evaluator(specs, cohorts=load_cohorts(engine, app_id, specs))
    evals = [evaluator.evaluate(key, context)] if key else evaluator.evaluate_all(context)
    rows = [
        {
            "flag": e.key,
            "value": e.value,
            "variant": e.variant,
            "reason": e.reason,
            "rule": e.rule,
            "error": e.error_code,
        }
        for e in evals
    ]
    render(rows, fmt, title="evaluation", empty="no flags")
    if fmt is Format.table and any(e.error_code for e in evals):
        console.print("[yellow]some flags failed; see the error column[/yellow]")
