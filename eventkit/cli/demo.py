"""``eventkit demo`` and ``eventkit simulate``: realistic traffic to try reports on."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from sqlalchemy.engine import Engine

from eventkit.aggregation import aggregate
from eventkit.cli.aggregate import progress_bar
from eventkit.cli.context import state
from eventkit.cli.output import console
from eventkit.config import Settings
from eventkit.demo import Simulation, SimulationConfig, simulate
from eventkit.demo.experiment import EXPERIMENT, install_demo_experiment
from eventkit.demo.releases import DemoRelease
from eventkit.errors import NotFoundError
from eventkit.releases import run_releases
from eventkit.sessions.job import run_sessions_job
from eventkit.storage.apps import create_app, get_app
from eventkit.storage.events import EventStore
from eventkit.timeutil import US_PER_DAY, now_us

__all__ = ["demo", "simulate_cmd"]


def _app_id(engine: Engine, name: str) -> int:
    try:
        return get_app(engine, name, count_events=False).id
    except NotFoundError:
        keys = create_app(engine, name, "simulated demo traffic")
        console.print(f"created app [bold]{name}[/bold]")
        return keys.app_id


def _simulate(engine: Engine, settings: Settings, app_name: str, cfg: SimulationConfig) -> None:
    app_id = _app_id(engine, app_name)
    started = time.perf_counter()
    with progress_bar() as bar:
        goal = cfg.max_events
        task = bar.add_task("users simulated" if goal is None else "events written",
                            total=goal or cfg.users)  # fmt: skip

        def step(sim: Simulation) -> None:
            bar.update(task, completed=sim.events if goal else sim.users)

        sim = simulate(EventStore(engine), app_id, cfg, progress=step)
        task2 = bar.add_task("aggregating", total=None)
        agg = aggregate(engine, settings.aggregation,
                        progress=lambda d, t: bar.update(task2, completed=d, total=t))  # fmt: skip
        run_releases(engine, settings.releases)
    took = time.perf_counter() - started
    console.print(
        f"wrote [bold]{sim.stored:,}[/bold] events ({sim.events - sim.stored:,} duplicates) "
        f"for {sim.users:,} users over {cfg.days} days into app [bold]{app_name}[/bold] "
        f"in {took:.1f}s; rolled up {agg.events:,} events",
        highlight=False,
    )


def demo(
    ctx: typer.Context,
    app_name: Annotated[str, typer.Option("--app", "-a", help="App to fill.")] = "demo",
    users: Annotated[int, typer.Option(min=1, help="Simulated users.")] = 2000,
    days: Annotated[int, typer.Option(min=1, max=3650, help="Days of history.")] = 30,
) -> None:
    """Fill an app with 30 days of realistic demo traffic and show what to try next."""
    st = state(ctx)
    engine = st.engine()
    end = now_us()
    app_id = _app_id(engine, app_name)
    # A running A/B test with a real lift, assigned by the flag's own evaluator.
    exp = install_demo_experiment(engine, app_id, started_at=end - days * US_PER_DAY)
    # A bad iOS release two days ago: crash-free users drop (docs/alerts.md).
    release = DemoRelease(end)
    cfg = SimulationConfig(users=users, days=days, seed=42, end=end,
                           purchase_hook=exp.purchase_multiplier,
                           exposure_hook=exp.exposure, checkout=True,
                           version_hook=release.version, issue_hook=release.issues)  # fmt: skip
    _simulate(engine, st.settings, app_name, cfg)
    with console.status("computing sessions…"):
        run_sessions_job(engine, st.settings)
    console.print(
        "\ntry:\n"
        f"  eventkit report trends --app {app_name} --event '$screen' --by platform\n"
        f"  eventkit report active --app {app_name}\n"
        f"  eventkit report top screens --app {app_name}\n"
        f"  eventkit report funnel --app {app_name} signup_completed onboarding_completed "
        "purchase_completed --window 7d\n"
        f"  eventkit report retention --app {app_name} --interval week\n"
        f"  eventkit report paths --app {app_name} --after payment_failed\n"
        f"  eventkit sql \"SELECT country, SUM(CAST(properties ->> 'amount' AS DOUBLE PRECISION)) "
        f"FROM events WHERE name = 'purchase_completed' GROUP BY 1\" --app {app_name}\n"
        f"  eventkit experiments results {EXPERIMENT} --app {app_name}\n"
        f"  eventkit users show user-0000000 --app {app_name}\n"
        f"  eventkit report releases --app {app_name}\n"
        f"  eventkit alerts create crash-free --app {app_name} --metric crash_free_users "
        "--below 98 --email you@example.com",
        highlight=False,
    )


def simulate_cmd(
    ctx: typer.Context,
    users: Annotated[int, typer.Option(min=1, help="Simulated users.")] = 1000,
    days: Annotated[int, typer.Option(min=1, max=3650, help="Days of history.")] = 30,
    seed: Annotated[
        int,
        typer.Option(
            help="Random seed: same seed, same events (within the same hour: the "
            "history ends at the start of the current UTC hour)."
        ),
    ] = 42,
    events: Annotated[
        int | None, typer.Option(min=1, help="Stop after about this many events.")
    ] = None,
    app_name: Annotated[str, typer.Option("--app", "-a", help="App to fill.")] = "demo",
) -> None:
    """Write simulated iOS/Android traffic through the event store (deterministic)."""
    st = state(ctx)
    if events is not None:
        users = max(users, events // 20 + 1)
    cfg = SimulationConfig(users=users, days=days, seed=seed, max_events=events, checkout=True)
    _simulate(st.engine(), st.settings, app_name, cfg)
