"""The per-process policy cache: no database read between checks, and only the apps
whose counter moved are loaded again."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.engine import Connection, Engine

from eventkit.storage.apps import create_app
from eventkit.storage.engine import writer
from eventkit.storage.policies import PolicyCache, bump_policy_version


def test_reloads_only_apps_whose_counter_moved(engine: Engine) -> None:
    a, b = create_app(engine, "a").app_id, create_app(engine, "b").app_id
    loads: list[list[int]] = []

    def load(conn: Connection, ids: Iterable[int]) -> dict[int, str]:
        ids = sorted(ids)
        loads.append(ids)
        return {i: f"policy-{i}-{len(loads)}" for i in ids}

    cache: PolicyCache[str] = PolicyCache(engine, load, "default", refresh_seconds=0)
    cache.refresh()
    assert loads == [] and cache.get(a) == "default"  # nobody changed anything yet
    with writer(engine).begin() as conn:
        bump_policy_version(conn, a)
        bump_policy_version(conn, b)
    cache.refresh()
    assert loads == [[a, b]] and cache.get(a) == f"policy-{a}-1"
    cache.refresh()
    assert loads == [[a, b]]  # counters unchanged: nothing loaded
    with writer(engine).begin() as conn:
        bump_policy_version(conn, b)
    cache.refresh()
    assert loads == [[a, b], [b]]
    assert (cache.get(a), cache.get(b)) == (f"policy-{a}-1", f"policy-{b}-2")

    slow: PolicyCache[str] = PolicyCache(engine, load, "default", refresh_seconds=3600)
    assert slow.due()
    slow.refresh()
    assert not slow.due()  # the next check waits for the interval
