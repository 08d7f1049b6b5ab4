"""Sessions end to end: events over HTTP to a real server whose scheduler runs the
sessions job, the job run once more from the CLI, and ``eventkit sessions stats``
checked against numbers worked out by hand."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import ServerProcess, event, iso

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    return {"EVENTKIT_SESSIONS__JOB_INTERVAL_SECONDS": "1"}


def at(minutes: float, **fields: Any) -> dict[str, Any]:
    return event(timestamp=iso(T0 + timedelta(minutes=minutes)), **fields)


ANDROID = {"os": {"name": "Android"}, "app": {"version": "2.0"}}
IOS = {"os": {"name": "iOS"}, "app": {"version": "1.0"}}


def cli(server: ServerProcess, *args: str) -> Any:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTKIT_")}
    env.update(EVENTKIT_DATABASE_URL=server.database_url, EVENTKIT_LOAD_PLUGINS="0")
    out = subprocess.run(
        [sys.executable, "-m", "eventkit", *args, "--format", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(out.stdout)


def wait_for_sessions(secret: httpx.Client, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 30
    while True:
        sessions = secret.get("/v1/sessions").json()["sessions"]
        if len(sessions) == count or time.monotonic() > deadline:
            return sessions  # type: ignore[no-any-return]
        time.sleep(0.3)


def test_sessions_over_http_then_stats(server: ServerProcess, http: httpx.Client) -> None:
    a, b, c = "e2e-sess-a", "e2e-sess-b", "e2e-sess-c"
    events = [
        # a (ios 1.0): home → cart → tap over 3 min; then, 57 min later, a lone tap.
        at(0, name="$screen", anonymous_id=a, properties={"$screen_name": "home"}, context=IOS),
        at(1, name="$screen", anonymous_id=a, properties={"$screen_name": "cart"}, context=IOS),
        at(3, name="tap", anonymous_id=a, context=IOS),
        at(60, name="tap", anonymous_id=a, context=IOS),
        # b (android 2.0): one screen, 5 s: a bounce.
        at(5, name="$screen", anonymous_id=b, properties={"screen": "home"}, context=ANDROID),
        at(5 + 5 / 60, name="tap", anonymous_id=b, context=ANDROID),
        # c (android 2.0): the SDK's own session id, 90 minutes apart: never cut.
        at(10, name="tap", anonymous_id=c, session_id="sdk-1", context=ANDROID),
        at(100, name="tap", anonymous_id=c, session_id="sdk-1", context=ANDROID),
    ]
    r = http.post("/v1/events", json={"events": events})
    assert r.status_code == 200 and r.json()["accepted"] == 8, r.text
    with server.client("secret") as secret:
        mine = [s for s in wait_for_sessions(secret, 4) if s["anonymous_id"] in (a, b, c)]
        assert len(mine) == 4, server.output()
        cli(server, "sessions", "run")  # the expiry job, as the scheduler runs it
        sessions = {
            (s["anonymous_id"], s["event_count"]): s for s in cli(server, "sessions", "list")
        }
        first = sessions[(a, 3)]
        assert (first["entry_screen"], first["exit_screen"]) == ("home", "cart")
        assert first["duration_s"] == 180 and not first["bounced"]
        assert sessions[(b, 2)]["bounced"] and sessions[(a, 1)]["bounced"]
        assert sessions[(c, 2)]["duration_s"] == 5400
        assert sessions[(c, 2)]["client_session_id"] == "sdk-1"
        assert not any(s["is_open"] for s in sessions.values())

        # Durations 180, 0, 5, 5400 s: median (5 + 180) / 2, p90 the largest (rank 4 of 4),
        # 8 events / 4 sessions, 2 bounces of 4.
        (total,) = cli(server, "sessions", "stats", "--by", "total")
        assert total == {
            "group": "all",
            "sessions": 4,
            "median_duration_s": 92.5,
            "p90_duration_s": 5400.0,
            "events_per_session": 2.0,
            "bounce_rate": 0.5,
        }
        by_platform = {
            row["group"]: row for row in cli(server, "sessions", "stats", "--by", "platform")
        }
        assert by_platform["ios"]["median_duration_s"] == 90  # (0 + 180) / 2
        assert by_platform["android"]["median_duration_s"] == 2702.5  # (5 + 5400) / 2
        by_day = cli(server, "sessions", "stats", "--by", "day")
        assert by_day[-1] == total
        over_http = secret.get("/v1/sessions/stats", params={"by": "total"}).json()["stats"]
        assert over_http == [total]

        # A late event 30 minutes in joins a's two sessions (gaps of 27 and 30 minutes).
        late = at(30, name="tap", anonymous_id=a, context=IOS)
        assert http.post("/v1/events", json={"events": [late]}).json()["accepted"] == 1
        joined = wait_for_sessions(secret, 3)
        assert sorted(s["event_count"] for s in joined) == [2, 2, 5]
        (total,) = cli(server, "sessions", "stats", "--by", "total")
        # Durations now 5, 3600 (a: 0 → 60 min) and 5400 s.
        assert total["sessions"] == 3 and total["median_duration_s"] == 3600.0
