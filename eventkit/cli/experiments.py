"""``eventkit experiments``: define, start, stop, ship and read out A/B experiments."""

from __future__ import annotations

import math
from typing import Annotated, Any

import typer

from eventkit.cli.context import state
from eventkit.cli.flags import app_id_of, cli_actor
from eventkit.cli.options import AppOption
from eventkit.cli.output import Col, Format, FormatOption, console, render, render_one
from eventkit.errors import InvalidRequestError
from eventkit.experiments.analysis import Readout, readout
from eventkit.experiments.present import experiment_row, readout_dict
from eventkit.experiments.stats import mde, sample_size
from eventkit.experiments.store import (
    ExperimentSpec,
    Metric,
    create_experiment,
    get_experiment,
    list_experiments,
    set_status,
    ship_variant,
)

__all__ = ["app"]

app = typer.Typer(help="A/B experiments on feature flags.", no_args_is_help=True)
KeyArg = Annotated[str, typer.Argument(help="Experiment key.")]


def _metric(text: str) -> Metric:
    kind, _, rest = text.partition(":")
    event, _, prop = rest.partition(":")
    if kind not in ("count", "mean") or not event:
        raise InvalidRequestError(
            f"--secondary {text!r} must be count:EVENT or mean:EVENT:PROPERTY"
        )
    return Metric(kind, event, prop or None)  # type: ignore[arg-type]


@app.command("create")
def create(
    ctx: typer.Context,
    key: KeyArg,
    flag: Annotated[str, typer.Option(help="The flag whose variants are compared.")],
    metric: Annotated[str, typer.Option(help="Conversion event of the primary metric.")],
    app_name: AppOption = None,
    control: Annotated[str, typer.Option(help="The control variant.")] = "off",
    variant: Annotated[
        list[str] | None, typer.Option(help="Variants to compare (default: weighted ones).")
    ] = None,
    secondary: Annotated[
        list[str] | None, typer.Option(help="count:EVENT or mean:EVENT:PROPERTY; repeat.")
    ] = None,
    window: Annotated[float, typer.Option(help="Conversion window after exposure, hours.")] = 72,
    description: Annotated[str, typer.Option(help="The hypothesis.")] = "",
    fmt: FormatOption = Format.table,
) -> None:
    """Define an experiment (status draft)."""
    spec = ExperimentSpec(
        key=key,
        flag=flag,
        control=control,
        variants=list(variant or []),
        primary=Metric("conversion", metric),
        secondary=[_metric(s) for s in secondary or []],
        window_hours=window,
        description=description,
    )
    rec = create_experiment(state(ctx).engine(), app_id_of(ctx, app_name), spec)
    render_one(experiment_row(rec), fmt, title=f"experiment {key}")


@app.command("list")
def list_(ctx: typer.Context, app_name: AppOption = None, fmt: FormatOption = Format.table) -> None:
    """List the app's experiments."""
    rows = [
        experiment_row(r) for r in list_experiments(state(ctx).engine(), app_id_of(ctx, app_name))
    ]
    render(rows, fmt, title="experiments", empty="no experiments yet")


@app.command("start")
def start(
    ctx: typer.Context, key: KeyArg, app_name: AppOption = None, fmt: FormatOption = Format.table
) -> None:
    """Start counting exposures and conversions (enable the flag yourself)."""
    rec = set_status(state(ctx).engine(), app_id_of(ctx, app_name), key, "running")
    render_one(experiment_row(rec), fmt, title=f"experiment {key}")


@app.command("stop")
def stop(
    ctx: typer.Context, key: KeyArg, app_name: AppOption = None, fmt: FormatOption = Format.table
) -> None:
    """Stop the experiment: results cover exposures until now."""
    rec = set_status(state(ctx).engine(), app_id_of(ctx, app_name), key, "stopped")
    render_one(experiment_row(rec), fmt, title=f"experiment {key}")


@app.command("ship")
def ship(
    ctx: typer.Context,
    key: KeyArg,
    variant: Annotated[str, typer.Argument(help="The variant everyone gets from now on.")],
    app_name: AppOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Stop the experiment and serve one variant to everyone (flag change is audited)."""
    engine = state(ctx).engine()
    rec = ship_variant(engine, app_id_of(ctx, app_name), key, variant, actor=cli_actor())
    render_one(experiment_row(rec), fmt, title=f"experiment {key}")


def _pct(x: float | None) -> str:
    return "" if x is None or math.isnan(x) else f"{x * 100:.2f}%"


def _table_rows(r: Readout) -> list[dict[str, Any]]:
    rows = []
    for v in r.variants:
        row: dict[str, Any] = {
            "variant": v.variant + (" (control)" if v.variant == r.control else ""),
            "exposed": v.exposed,
            "conversions": v.conversions,
            "rate": f"{_pct(v.rate)} [{_pct(v.rate_ci.low)}, {_pct(v.rate_ci.high)}]",
        }
        if v.lift is not None:
            row["abs lift"] = (
                f"{v.lift.absolute * 100:+.2f} pts [{v.lift.absolute_ci.low * 100:+.2f}, "
                f"{v.lift.absolute_ci.high * 100:+.2f}]"
            )
            rel, ci = v.lift.relative, v.lift.relative_ci
            row["rel lift"] = (
                f"{rel * 100:+.1f}% [{ci.low * 100:+.1f}, {ci.high * 100:+.1f}]"
                if rel is not None and ci is not None
                else ""
            )
            row["p-value"] = f"{v.lift.p_value:.4f}"
            row["P(beat control)"] = _pct(v.prob_beat_control)
        for s in v.secondary:
            row[s.metric] = f"{s.mean:.3f}" + (
                f" (p {s.test.p_value:.3f})" if s.test is not None else ""
            )
        rows.append(row)
    return rows


@app.command("results")
def results(
    ctx: typer.Context, key: KeyArg, app_name: AppOption = None, fmt: FormatOption = Format.table
) -> None:
    """Per-variant exposure, conversion, lift with intervals, p-values, SRM and a verdict."""
    engine = state(ctx).engine()
    app_id = app_id_of(ctx, app_name)
    rec = get_experiment(engine, app_id, key)
    if rec.started_at is None:
        raise InvalidRequestError(
            f"experiment {key!r} has not started: `eventkit experiments start {key}`"
        )
    r = readout(engine, app_id, rec)
    if fmt is not Format.table:
        render_one(readout_dict(r, rec.status), fmt)
        return
    rows = _table_rows(r)
    names = list(dict.fromkeys(c for row in reversed(rows) for c in row))
    # Narrow terminals keep what decides an experiment first.
    rank = {"variant": 0, "rate": 1, "rel lift": 2, "P(beat control)": 3, "p-value": 4}
    cols = [Col(c, priority=rank.get(c, 5 + i)) for i, c in enumerate(names)]
    render(rows, fmt, columns=cols, title=f"experiment {key} ({rec.status})")
    if r.excluded_multiple_variants:
        console.print(f"excluded: {r.excluded_multiple_variants} users saw several variants")
    if not r.srm_checked:
        console.print("SRM not checked: a compared variant has weight 0 in the flag's split")
    style = "bold red" if r.srm else "bold"
    console.print(f"[{style}]verdict:[/{style}] {r.verdict}", highlight=False)


@app.command("size")
def size(
    baseline: Annotated[float, typer.Option(help="Control conversion rate, e.g. 0.12.")],
    mde_: Annotated[
        float | None, typer.Option("--mde", help="Relative lift to detect, e.g. 0.05.")
    ] = None,
    users: Annotated[
        int | None, typer.Option(help="Users per variant you can get (gives the MDE).")
    ] = None,
    alpha: Annotated[float, typer.Option(help="Significance level.")] = 0.05,
    power: Annotated[float, typer.Option(help="Power.")] = 0.8,
    fmt: FormatOption = Format.table,
) -> None:
    """Sample-size / MDE calculator for a conversion metric (two-sided z-test)."""
    if (mde_ is None) == (users is None):
        raise InvalidRequestError("give exactly one of --mde or --users")
    try:
        if mde_ is not None:
            out: dict[str, float] = {"users_per_variant": sample_size(baseline, mde_, alpha, power)}
        else:
            assert users is not None
            out = {"mde_relative": round(mde(baseline, users, alpha, power), 6)}
    except ValueError as exc:
        raise InvalidRequestError(str(exc)) from None
    render_one({"baseline": baseline, "alpha": alpha, "power": power, **out}, fmt)
