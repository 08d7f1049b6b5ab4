"""Plugin stage benchmark: what validate/enrich plugins cost per event, beside the
pipeline without plugins measured in the same run.

    python bench/plugins.py            # 200 batches of 100 events per scenario
    python bench/plugins.py --quick    # 20 batches

Each scenario runs the ingest pipeline's stages (the plugin stage when a plugin is
loaded, then the IP stage) on the same batches of native events (``properties`` and
``context`` as JSON text, as the capture API hands them over). Printed: microseconds
per event and the ratio to the baseline.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import msgspec

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import eventkit_geoip  # noqa: E402
import eventkit_uaparser  # noqa: E402
from eventkit.capture.schema import CanonicalEvent  # noqa: E402
from eventkit.config import load_settings  # noqa: E402
from eventkit.ingest.pipeline import Batch  # noqa: E402
from eventkit.ingest.plugin_stage import plugin_stage  # noqa: E402
from eventkit.plugins.hookspecs import hookimpl  # noqa: E402
from eventkit.plugins.manager import EventkitPluginManager  # noqa: E402
from eventkit.privacy.stages import protect_stage  # noqa: E402
from tests.plugins.mmdb import write_mmdb  # noqa: E402

UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)


class Noop:
    """An enricher that changes nothing: the stage's own overhead."""

    @hookimpl
    def eventkit_enrich_event(self, event: CanonicalEvent) -> None:
        return None


def events(n: int) -> list[CanonicalEvent]:
    now = int(time.time() * 1e6)
    return [
        CanonicalEvent(
            app_id=1,
            event_id=uuid.uuid4(),
            name="screen_view",
            timestamp=now,
            sent_at=None,
            received_at=now,
            ts=now,
            user_id=None,
            anonymous_id="d",
            session_id=None,
            platform=None,
            app_version="1.0",
            country=None,
            ip=f"81.2.69.{i % 250}",
            source="native",
            properties=msgspec.Raw(b'{"screen":"home"}'),
            context=msgspec.Raw(b'{"app":{"version":"1.0"}}'),
        )
        for i in range(n)
    ]


def run(plugins: list[Any], settings: Any, batches: int, size: int) -> float:
    pm = EventkitPluginManager()
    for p in plugins:
        pm.register(p)
    stages = [s for s in (plugin_stage(settings, None, pm), protect_stage(settings, None)) if s]
    data = [events(size) for _ in range(batches)]
    started = time.perf_counter()
    for evs in data:
        batch = Batch(1, "native", evs, list(range(size)), [], user_agent=UA)
        for stage in stages:
            stage(batch)  # type: ignore[call-arg]
            batch.compact()
    return (time.perf_counter() - started) / (batches * size) * 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    batches, size = (20, 100) if args.quick else (200, 100)
    with tempfile.TemporaryDirectory() as tmp:
        db = write_mmdb(Path(tmp) / "city.mmdb", {
            "81.2.69.0/24": {"country": {"iso_code": "GB"}, "city": {"names": {"en": "London"}}}
        })  # fmt: skip
        settings = load_settings(environ={"EVENTKIT_PLUGINS__GEOIP__DATABASE": str(db)})
        scenarios = {
            "no plugins (baseline)": [],
            "no-op enricher": [Noop()],
            "uaparser": [eventkit_uaparser],
            "geoip": [eventkit_geoip],
            "uaparser + geoip": [eventkit_uaparser, eventkit_geoip],
            "no plugins (again)": [],
        }
        run([eventkit_uaparser, eventkit_geoip], settings, 1, 10)  # warm caches
        base = None
        print(f"{batches} batches x {size} events per scenario")
        for name, plugins in scenarios.items():
            us = run(plugins, settings, batches, size)
            base = base or us
            print(f"{name:24s} {us:8.2f} µs/event   x{us / base:5.1f}")


if __name__ == "__main__":
    main()
