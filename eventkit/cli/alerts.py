"""``eventkit alerts``: create, list, show, pause, resume, delete, test and inspect
alert rules, their history and their messages (docs/alerts.md)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from sqlalchemy.engine import Engine

from eventkit.alerts import (
    create_rule,
    delete_rule,
    get_rule,
    list_deliveries,
    list_rules,
    list_runs,
    parse_spec,
    redeliver,
    send_test,
    set_paused,
)
from eventkit.alerts.jobs import run_alerts_job
from eventkit.alerts.present import delivery_dict, rule_dict, run_dict
from eventkit.alerts.spec import METRICS
from eventkit.alerts.store import RuleKind
from eventkit.cli.context import state
from eventkit.cli.options import AllAppsOption, AppOption, app_scope, one_app
from eventkit.cli.output import Format, FormatOption, console, render, render_one
from eventkit.errors import InvalidRequestError
from eventkit.storage.apps import list_apps

__all__ = ["app", "destinations_of", "show_rules", "user"]

app = typer.Typer(
    help="Alert rules: when a metric crosses a line, tell the team.", no_args_is_help=True
)

NameArg = Annotated[str, typer.Argument(help="The rule's name.")]
EmailOpt = Annotated[
    list[str] | None,
    typer.Option("--email", help="Send to this address (repeatable; needs [alerts.smtp])."),
]
SlackOpt = Annotated[
    list[str] | None,
    typer.Option("--slack", help="A Slack (or compatible) incoming-webhook URL (repeatable)."),
]
WebhookOpt = Annotated[
    list[str] | None, typer.Option("--webhook", help="POST the JSON message here (repeatable).")
]
SecretOpt = Annotated[
    str, typer.Option("--secret", help="Sign --webhook bodies with this HMAC-SHA256 key.")
]


def user() -> str:
    """Who the rules name as their creator."""
    from eventkit.cli.flags import cli_actor

    return cli_actor()


def destinations_of(
    email: list[str] | None, slack: list[str] | None, webhook: list[str] | None, secret: str
) -> list[dict[str, Any]]:
    """The destinations given as options."""
    out: list[dict[str, Any]] = [{"type": "email", "to": e} for e in email or []]
    out += [{"type": "slack", "to": s} for s in slack or []]
    out += [{"type": "webhook", "to": w, "secret": secret} for w in webhook or []]
    if not out:
        raise InvalidRequestError("say where to send it: --email, --slack or --webhook")
    return out


def _condition(
    above: float | None,
    below: float | None,
    drop: float | None,
    rise: float | None,
    anomaly: bool,
    **extra: Any,
) -> dict[str, Any]:
    given: list[tuple[str, float | None]] = [
        (k, v)
        for k, v in (("above", above), ("below", below), ("drop", drop), ("rise", rise))
        if v is not None
    ]
    if anomaly:
        given.append(("anomaly", None))
    if len(given) != 1:
        raise InvalidRequestError(
            "give exactly one condition: --above N, --below N, --drop PCT, --rise PCT or --anomaly"
        )
    kind, threshold = given[0]
    return {"kind": kind, "threshold": threshold, **extra}


def _app_names(engine: Engine) -> dict[int, str]:
    return {a.id: a.name for a in list_apps(engine)}


@app.command("create")
def create_cmd(
    ctx: typer.Context,
    name: NameArg,
    metric: Annotated[str, typer.Option("--metric", "-m", help=f"One of: {', '.join(METRICS)}.")],
    event: Annotated[
        str | None, typer.Option("--event", "-e", help="events/users: the event.")
    ] = None,
    where: Annotated[
        list[str] | None,
        typer.Option("--where", "-w", help="key=value or key!=value (repeatable)."),
    ] = None,
    step: Annotated[
        list[str] | None,
        typer.Option("--step", help="funnel_conversion: a step, in order (repeatable)."),
    ] = None,
    window: Annotated[str, typer.Option(help="funnel_conversion: conversion window.")] = "1d",
    version: Annotated[str, typer.Option(help="Release metrics: a version, or latest.")] = "latest",
    platform: Annotated[str | None, typer.Option(help="Release metrics: one platform.")] = None,
    min_sample: Annotated[
        int,
        typer.Option(min=0, help="Ratio metrics: skip buckets with fewer users/sessions/entrants."),
    ] = 0,
    above: Annotated[float | None, typer.Option(help="Fire when the value is above N.")] = None,
    below: Annotated[float | None, typer.Option(help="Fire when the value is below N.")] = None,
    drop: Annotated[float | None, typer.Option(help="Fire on a drop of PCT% or more.")] = None,
    rise: Annotated[float | None, typer.Option(help="Fire on a rise of PCT% or more.")] = None,
    anomaly: Annotated[
        bool,
        typer.Option(
            "--anomaly", help="Fire outside the usual range (seasonal median and spread)."
        ),
    ] = False,
    vs: Annotated[
        str,
        typer.Option(
            help="--drop/--rise against: previous (bucket) or week (same bucket a week earlier)."
        ),
    ] = "previous",
    sensitivity: Annotated[float, typer.Option(help="--anomaly: how many spreads away (k).")] = 4.0,
    baseline: Annotated[int, typer.Option(help="--anomaly: weeks of history (3-26).")] = 4,
    direction: Annotated[str, typer.Option(help="--anomaly: both, up or down.")] = "both",
    interval: Annotated[str, typer.Option("--interval", "-i", help="hour, day or week.")] = "day",
    cooldown: Annotated[
        str, typer.Option(help="No second alert within this span (6h, 1d).")
    ] = "6h",
    email: EmailOpt = None,
    slack: SlackOpt = None,
    webhook: WebhookOpt = None,
    secret: SecretOpt = "",
    description: Annotated[str, typer.Option(help="A note shown with the rule.")] = "",
    app_name: AppOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Create an alert rule (one command per rule)."""
    st = state(ctx)
    engine = st.engine()
    app_id = one_app(engine, app_name).id
    definition = {
        "metric": {
            "kind": metric,
            "event": event,
            "where": where or [],
            "steps": step or [],
            "window": window,
            "version": version,
            "platform": platform,
            "min_sample": min_sample,
        },
        "condition": _condition(
            above,
            below,
            drop,
            rise,
            anomaly,
            compare_to=vs,
            sensitivity=sensitivity,
            baseline=baseline,
            direction=direction,
        ),
        "interval": interval,
        "cooldown": cooldown,
        "description": description,
        "destinations": destinations_of(email, slack, webhook, secret),
    }
    rule = create_rule(engine, app_id, "alert", name, parse_spec("alert", definition), user())
    shown = rule_dict(rule, _app_names(engine)[app_id])
    if fmt is not Format.table:
        render_one(shown, fmt)
        return
    console.print(
        f"created alert [bold]{name}[/bold]: {shown['watches']}, fires when "
        f"{shown['fires_when']}; sends to {', '.join(shown['destinations'])}",
        highlight=False,
    )
    console.print(
        f"try it now: eventkit alerts test {name} --app {_app_names(engine)[app_id]}",
        highlight=False,
    )


def show_rules(
    ctx: typer.Context, kind: RuleKind, app_name: str | None, fmt: Format, columns: list[str]
) -> None:
    """List the alert rules or digests of an app (every app without ``--app``)."""
    engine = state(ctx).engine()
    names = _app_names(engine)
    rows = [
        rule_dict(r, names[r.app_id])
        for r in list_rules(engine, app_scope(engine, app_name)[0], kind)
    ]
    group = "alerts" if kind == "alert" else "digest"
    render(
        rows,
        fmt,
        columns=columns if fmt is Format.table else None,
        title="alert rules" if kind == "alert" else "digests",
        empty=f"none yet: eventkit {group} create --help",
    )


@app.command("list")
def list_cmd(
    ctx: typer.Context, app_name: AllAppsOption = None, fmt: FormatOption = Format.table
) -> None:
    """The alert rules of an app (all apps without --app)."""
    columns = ["name", "app", "status", "state", "watches", "fires_when", "destinations"]
    show_rules(ctx, "alert", app_name, fmt, columns)


@app.command("show")
def show_cmd(
    ctx: typer.Context, name: NameArg, app_name: AppOption = None, fmt: FormatOption = Format.table
) -> None:
    """A rule: what it watches, when it fires, where it sends, its last evaluations."""
    st = state(ctx)
    engine = st.engine()
    app_id = one_app(engine, app_name).id
    rule = get_rule(engine, app_id, "alert", name)
    shown = rule_dict(rule, _app_names(engine)[app_id])
    shown["recent"] = [run_dict(r) for r in list_runs(engine, rule.id, limit=5)]
    if fmt is not Format.table:
        render_one(shown, fmt)
        return
    recent = shown.pop("recent")
    shown.pop("definition")
    render_one(shown, fmt, title=f"alert {name}")
    render(
        recent,
        fmt,
        columns=["bucket", "outcome", "value", "baseline", "node"],
        title="last evaluations",
        empty="not evaluated yet",
    )


def _pause(ctx: typer.Context, name: str, app_name: str | None, paused: bool) -> None:
    st = state(ctx)
    engine = st.engine()
    app_id = one_app(engine, app_name).id
    set_paused(engine, app_id, "alert", name, paused)
    console.print(f"alert [bold]{name}[/bold] {'paused' if paused else 'resumed'}")


@app.command("pause")
def pause_cmd(ctx: typer.Context, name: NameArg, app_name: AppOption = None) -> None:
    """Stop evaluating a rule (nothing is sent) until it is resumed."""
    _pause(ctx, name, app_name, True)


@app.command("resume")
def resume_cmd(ctx: typer.Context, name: NameArg, app_name: AppOption = None) -> None:
    """Evaluate a paused rule again (from a clean state)."""
    _pause(ctx, name, app_name, False)


@app.command("delete")
def delete_cmd(
    ctx: typer.Context,
    name: NameArg,
    app_name: AppOption = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
) -> None:
    """Delete a rule, its history and its unsent messages."""
    st = state(ctx)
    engine = st.engine()
    app_id = one_app(engine, app_name).id
    get_rule(engine, app_id, "alert", name)  # NotFoundError before asking
    if not yes and not typer.confirm(f"delete alert {name} and its history?"):
        raise typer.Exit(1)
    delete_rule(engine, app_id, "alert", name)
    console.print(f"deleted alert [bold]{name}[/bold]")


@app.command("test")
def send_sample_cmd(ctx: typer.Context, name: NameArg, app_name: AppOption = None) -> None:
    """Send a sample message (the latest complete bucket) to every destination now."""
    st = state(ctx)
    engine = st.engine()
    app_id = one_app(engine, app_name).id
    results = send_test(engine, st.settings, get_rule(engine, app_id, "alert", name))
    for label, result in results:
        if result.ok:
            console.print(f"[green]sent[/green] to {label}", highlight=False)
        else:
            console.print(f"[red]failed[/red] to {label}: {result.error}", highlight=False)
    if not all(r.ok for _, r in results):
        raise typer.Exit(1)


@app.command("history")
def history_cmd(
    ctx: typer.Context,
    name: NameArg,
    app_name: AppOption = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Most evaluations.")] = 50,
    fmt: FormatOption = Format.table,
) -> None:
    """A rule's evaluations, newest first, and the messages they sent."""
    st = state(ctx)
    engine = st.engine()
    app_id = one_app(engine, app_name).id
    rule = get_rule(engine, app_id, "alert", name)
    runs = [run_dict(r) for r in list_runs(engine, rule.id, limit=limit)]
    render(
        runs,
        fmt,
        columns=["bucket", "outcome", "value", "baseline", "evaluated", "node"]
        if fmt is Format.table
        else None,
        title=f"alert {name}: evaluations",
        empty="not evaluated yet",
    )
    if fmt is Format.table:
        sent = [
            delivery_dict(d, name)
            for d in list_deliveries(engine, app_id, rule_id=rule.id, limit=limit)
        ]
        render(
            sent,
            fmt,
            columns=["id", "kind", "status", "destination", "attempts", "created", "last_error"],
            title="messages",
            empty="no messages sent",
        )


@app.command("deliveries")
def deliveries_cmd(
    ctx: typer.Context,
    app_name: AllAppsOption = None,
    dead: Annotated[bool, typer.Option("--dead", help="Only the dead-letter list.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Most messages.")] = 100,
    fmt: FormatOption = Format.table,
) -> None:
    """Messages (alerts and digests), newest first; --dead for the dead-letter list."""
    st = state(ctx)
    engine = st.engine()
    app_id = app_scope(engine, app_name)[0]
    rules = {r.id: r.name for k in ("alert", "digest") for r in list_rules(engine, app_id, k)}
    rows = [
        delivery_dict(d, rules.get(d.rule_id or -1))
        for d in list_deliveries(engine, app_id, status="dead" if dead else None, limit=limit)
    ]
    render(
        rows,
        fmt,
        columns=[
            "id",
            "rule",
            "kind",
            "status",
            "destination",
            "attempts",
            "next_attempt",
            "last_error",
        ]
        if fmt is Format.table
        else None,
        title="dead letters" if dead else "messages",
        empty="no dead letters" if dead else "no messages",
    )


@app.command("redeliver")
def redeliver_cmd(
    ctx: typer.Context,
    ids: Annotated[list[int] | None, typer.Argument(help="Dead letters (default: all).")] = None,
    app_name: AppOption = None,
) -> None:
    """Put dead-lettered messages back in the outbox with a fresh set of attempts."""
    st = state(ctx)
    engine = st.engine()
    n = redeliver(engine, one_app(engine, app_name).id, list(ids or []))
    if ids and n < len(ids):
        console.print(f"[yellow]{len(ids) - n} of those are not dead letters of this app[/yellow]")
    console.print(
        f"{n} messages back in the outbox; the running server sends them (or: eventkit alerts run)"
    )


@app.command("run")
def run_cmd(ctx: typer.Context) -> None:
    """Evaluate due rules, send due digests and the outbox once (what `eventkit serve`
    does every alerts.interval_seconds)."""
    st = state(ctx)
    done = run_alerts_job(st.engine(), st.settings)
    for name, outcome in sorted(done.outcomes.items()):
        console.print(f"{name}: {outcome}", highlight=False)
    for name in done.digests:
        console.print(f"digest {name}: sent", highlight=False)
    o = done.outbox
    console.print(f"messages: {o.delivered} delivered, {o.retrying} to retry, {o.dead} dead")
