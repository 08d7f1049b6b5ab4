"""Flag evaluation benchmark: eventkit's in-process evaluator beside the GrowthBook
Python SDK on an equivalent feature set, measured in the same run, and the
``POST /v1/flags/evaluate`` endpoint's requests/s on a real ``eventkit serve``.

    python bench/flags.py            # full run
    python bench/flags.py --quick    # short windows, for a smoke run

The feature set: 100 flags, each with 10 rules. Rules 1-9 carry three conditions
(country in a list, app_version semver >= x, platform equals) and a 30 % rollout with
a fixed variant (GrowthBook: a force rule with ``coverage`` 0.3); rule 10 is a 50/50
split for everyone (GrowthBook: an experiment rule). Users are random, so most
evaluations walk several rules before one matches, as in real targeting.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from growthbook import GrowthBook

from eventkit.flags import Condition, Evaluator, FlagSpec, Rule, Variant
from eventkit.flags.spec import validate

N_FLAGS, N_RULES = 100, 10
COUNTRIES = ["US", "CA", "DE", "FR", "GB", "JP", "BR", "IN", "ES", "IT"]
PLATFORMS = ["ios", "android"]
VERSIONS = ["1.9.0", "2.0.0", "2.1.3", "2.3.0", "2.4.1", "3.0.0"]


def _rule_params(f: int, r: int) -> tuple[list[str], str, str]:
    rnd = random.Random(f * 100 + r)
    return rnd.sample(COUNTRIES, 2), rnd.choice(VERSIONS), rnd.choice(PLATFORMS)


def eventkit_specs() -> list[FlagSpec]:
    specs = []
    for f in range(N_FLAGS):
        rules = []
        for r in range(N_RULES - 1):
            countries, version, plat = _rule_params(f, r)
            rules.append(
                Rule(
                    [
                        Condition("country", "in", countries),
                        Condition("app_version", "semver_gte", version),
                        Condition("platform", "eq", plat),
                    ],
                    rollout=30,
                    variant="on",
                )
            )
        rules.append(Rule())
        specs.append(
            validate(
                FlagSpec(
                    key=f"flag-{f}",
                    enabled=True,
                    variants=[Variant("on", True, 50), Variant("off", False, 50)],
                    rules=rules,
                )
            )
        )
    return specs


def growthbook_features() -> dict[str, Any]:
    features: dict[str, Any] = {}
    for f in range(N_FLAGS):
        rules: list[dict[str, Any]] = []
        for r in range(N_RULES - 1):
            countries, version, plat = _rule_params(f, r)
            rules.append(
                {
                    "condition": {
                        "country": {"$in": countries},
                        "app_version": {"$vgte": version},
                        "platform": plat,
                    },
                    "force": True,
                    "coverage": 0.3,
                    "hashAttribute": "id",
                }
            )
        rules.append(
            {
                "key": f"exp-{f}",
                "variations": [True, False],
                "weights": [0.5, 0.5],
                "hashAttribute": "id",
            }
        )
        features[f"flag-{f}"] = {"defaultValue": False, "rules": rules}
    return features


def users(n: int) -> list[dict[str, Any]]:
    rnd = random.Random(7)
    return [
        {
            "user_id": f"user-{i}",
            "country": rnd.choice(COUNTRIES),
            "app_version": rnd.choice(VERSIONS),
            "platform": rnd.choice(PLATFORMS),
        }
        for i in range(n)
    ]


def bench_eventkit(seconds: float, people: list[dict[str, Any]]) -> tuple[float, list[bool]]:
    ev = Evaluator(eventkit_specs())
    done, start, i = 0, time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        ev.evaluate_all(people[i % len(people)])
        done += N_FLAGS
        i += 1
    rate = done / (time.perf_counter() - start)
    sample = [e.value for e in ev.evaluate_all(people[0])]
    return rate, sample


def bench_growthbook(seconds: float, people: list[dict[str, Any]]) -> float:
    gb = GrowthBook(features=growthbook_features())
    keys = [f"flag-{f}" for f in range(N_FLAGS)]
    gb_users = [{**u, "id": u["user_id"]} for u in people]
    done, start, i = 0, time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        gb.set_attributes(gb_users[i % len(gb_users)])
        for k in keys:
            gb.eval_feature(k)
        done += N_FLAGS
        i += 1
    return done / (time.perf_counter() - start)


# -- endpoint ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wrk(base: str, key: str, seconds: float, concurrency: int) -> float:
    """Requests/s from wrk with bench/wrk/flags.lua (2 threads)."""
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{concurrency}",
            f"-d{max(1, int(seconds))}s",
            "-s",
            str(Path(__file__).parent / "wrk" / "flags.lua"),
            base,
        ],
        env={**os.environ, "EVENTKIT_BENCH_KEY": key},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    requests, duration_us, errors = (int(x) for x in out.split("WRK_RESULT")[1].split())
    if errors:
        raise RuntimeError(f"wrk saw {errors} errors:\n{out}")
    return requests / (duration_us / 1e6)


def bench_endpoint(seconds: float, concurrency: int) -> tuple[float, float]:
    import httpx

    from eventkit.config import load_settings
    from eventkit.flags.store import create_flag
    from eventkit.storage.apps import resolve_key
    from eventkit.storage.engine import make_engine

    work = Path(tempfile.mkdtemp(prefix="ek-flags-bench-"))
    url = f"sqlite:///{work / 'ek.db'}"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTKIT_")}
    env.update({"EVENTKIT_DATABASE_URL": url, "EVENTKIT_LOAD_PLUGINS": "0", "COLUMNS": "250"})
    out = (work / "out.txt").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "eventkit", "serve", "--port", str(port)],
        cwd=work,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        key = re.findall(r"ek_write_[A-Za-z0-9_\-]+", (work / "out.txt").read_text())[0]
        engine = make_engine(load_settings(path=None, environ={"EVENTKIT_DATABASE_URL": url}))
        found = resolve_key(engine, key)
        assert found is not None
        for spec in eventkit_specs():
            create_flag(engine, found.app_id, spec, actor="bench")
        engine.dispose()
        people = users(1000)

        async def run() -> int:
            count = 0
            deadline = time.perf_counter() + seconds
            async with httpx.AsyncClient(
                base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30
            ) as client:

                async def worker(w: int) -> None:
                    nonlocal count
                    i = w
                    while time.perf_counter() < deadline:
                        u = people[i % len(people)]
                        r = await client.post(
                            "/v1/flags/evaluate", json={"user_id": u["user_id"], "context": u}
                        )
                        assert r.status_code == 200, r.text
                        count += 1
                        i += concurrency

                await asyncio.gather(*(worker(w) for w in range(concurrency)))
            return count

        rates = []
        for _ in range(2):  # first pass writes exposures; second finds them recorded
            if shutil.which("wrk"):
                rates.append(_wrk(base, key, seconds, concurrency))
                continue
            start = time.perf_counter()
            n = asyncio.run(run())
            rates.append(n / (time.perf_counter() - start))
        return rates[0], rates[1]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        out.close()
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short windows")
    parser.add_argument("--no-endpoint", action="store_true", help="in-process only")
    args = parser.parse_args()
    seconds = 1.0 if args.quick else 5.0
    people = users(10_000)
    ek, _ = bench_eventkit(seconds, people)
    gb = bench_growthbook(seconds, people)
    print(f"in-process, {N_FLAGS} flags x {N_RULES} rules, 10,000 random users")
    print(f"  eventkit Evaluator   {ek:>12,.0f} evaluations/s")
    print(f"  GrowthBook SDK       {gb:>12,.0f} evaluations/s   (baseline, same run)")
    print(f"  ratio                {ek / gb:>12.2f}x  (goal: >= 1.00)")
    if not args.no_endpoint:
        first, warm = bench_endpoint(3.0 if args.quick else 10.0, 32)
        client = "wrk" if shutil.which("wrk") else "httpx"
        print(
            f"endpoint, POST /v1/flags/evaluate (all 100 flags), 1,000 users, 32 {client} clients"
        )
        print(f"  first pass   {first:>10,.0f} requests/s  (100 exposures written per new user)")
        print(f"  warm         {warm:>10,.0f} requests/s  ({warm * N_FLAGS:,.0f} evaluations/s)")


if __name__ == "__main__":
    main()
