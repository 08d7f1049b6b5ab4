"""The release-health job: folds new events into ``release_user_days`` (per day,
version, platform and actor: events, errors, crashes), copies every ``$crash`` and
``$error`` into ``release_issues`` and records when each version was first seen
(``release_versions``, with an annotation for a new one).

Like the rollup job (eventkit.aggregation) it walks the arrival ids above its own
watermark (``aggregation_state`` row ``releases``) and advances it in the same
transaction as its writes: a crash leaves both untouched, a re-run does the work once,
and a late event (old ``ts``, new id) lands in the old day it belongs to. Reports read
these tables plus the raw events above the watermark, so they are exact at any moment.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from eventkit.aggregation.sql import ACTOR, bucket
from eventkit.capture.issues import CRASH, ERROR, fatal_sql
from eventkit.config_alerts import ReleaseSettings
from eventkit.releases.annotations import record_release
from eventkit.storage.engine import writer
from eventkit.storage.errors import map_db_errors
from eventkit.timeutil import US_PER_SECOND, now_us

__all__ = ["JOB", "ReleaseRun", "erase_actors", "lock_watermark", "run_releases", "watermark"]

log = logging.getLogger("eventkit.releases")

#: The job's row in ``aggregation_state``.
JOB = "releases"
_ISSUE = f"name IN ('{CRASH}', '{ERROR}')"


@dataclass(frozen=True)
class ReleaseRun:
    """What a run did."""

    events: int
    watermark: int
    new_versions: list[tuple[int, str, str]]


def lock_watermark(conn: Connection) -> int:
    """The job's watermark, row-locked on PostgreSQL so runs on several nodes serialize
    (SQLite write transactions already exclude each other)."""
    conn.execute(
        text(
            "INSERT INTO aggregation_state (job, last_event_id, updated_at) "
            "VALUES (:job, 0, :now) ON CONFLICT (job) DO NOTHING"
        ),
        {"job": JOB, "now": now_us()},
    )
    lock = " FOR UPDATE" if conn.dialect.name == "postgresql" else ""
    return int(
        conn.execute(
            text(f"SELECT last_event_id FROM aggregation_state WHERE job = :job{lock}"),
            {"job": JOB},
        ).scalar_one()
    )


def watermark(conn: Connection) -> int:
    """Every event with an id at or below this is in the release tables (0: none)."""
    value = conn.execute(
        text("SELECT last_event_id FROM aggregation_state WHERE job = :job"), {"job": JOB}
    ).scalar()
    return int(value or 0)


def _fold(conn: Connection, rng: dict[str, int]) -> None:
    d = conn.dialect.name
    fatal = fatal_sql(d)
    day = bucket("ts", "d")
    where = f"id > :lo AND id <= :hi AND {ACTOR} IS NOT NULL"
    conn.execute(
        text(
            "INSERT INTO release_user_days (app_id, day, app_version, platform, actor, "
            f"events, errors, crashes) SELECT app_id, {day}, COALESCE(app_version, ''), "
            f"COALESCE(platform, ''), {ACTOR}, COUNT(*), "
            f"SUM(CASE WHEN {_ISSUE} THEN 1 ELSE 0 END), "
            f"SUM(CASE WHEN {fatal} THEN 1 ELSE 0 END) FROM events WHERE {where} "
            f"GROUP BY app_id, {day}, COALESCE(app_version, ''), COALESCE(platform, ''), "
            f"{ACTOR} ON CONFLICT (app_id, day, app_version, platform, actor) DO UPDATE SET "
            "events = release_user_days.events + excluded.events, "
            "errors = release_user_days.errors + excluded.errors, "
            "crashes = release_user_days.crashes + excluded.crashes"
        ),
        rng,
    )
    stack = (
        "SUBSTR(COALESCE(properties->>'stack_hash', ''), 1, 64)"
        if d == "postgresql"
        else "SUBSTR(COALESCE(CAST(json_extract(properties, '$.stack_hash') AS TEXT), ''), 1, 64)"
    )
    conn.execute(
        text(
            "INSERT INTO release_issues (event_pk, app_id, ts, app_version, platform, actor, "
            f"fatal, stack_hash) SELECT id, app_id, ts, COALESCE(app_version, ''), "
            f"COALESCE(platform, ''), COALESCE({ACTOR}, ''), {fatal}, {stack} FROM events "
            f"WHERE id > :lo AND id <= :hi AND {_ISSUE} ON CONFLICT (event_pk) DO NOTHING"
        ),
        rng,
    )


def _versions(
    conn: Connection, rng: dict[str, int], settings: ReleaseSettings
) -> list[tuple[int, str, str]]:
    """Record first-seen times; return the (app, version, platform) seen for the first
    time (an annotation is recorded for each)."""
    rows = conn.execute(
        text(
            "SELECT app_id, app_version, COALESCE(platform, ''), MIN(ts) FROM events "
            "WHERE id > :lo AND id <= :hi AND app_version IS NOT NULL AND app_version <> '' "
            "GROUP BY app_id, app_version, COALESCE(platform, '')"
        ),
        rng,
    ).all()
    new: list[tuple[int, str, str]] = []
    now = now_us()
    for app_id, version, platform, first in rows:
        key = {"app": app_id, "v": version, "p": platform}
        known = conn.execute(
            text(
                "SELECT first_seen FROM release_versions WHERE app_id = :app "
                "AND app_version = :v AND platform = :p"
            ),
            key,
        ).scalar()
        if known is None:
            conn.execute(
                text(
                    "INSERT INTO release_versions (app_id, app_version, platform, first_seen, "
                    "detected_at) VALUES (:app, :v, :p, :first, :now)"
                ),
                {**key, "first": int(first), "now": now},
            )
            new.append((int(app_id), str(version), str(platform)))
        elif int(first) < int(known):  # a late event from before the first one seen
            conn.execute(
                text(
                    "UPDATE release_versions SET first_seen = :first WHERE app_id = :app "
                    "AND app_version = :v AND platform = :p"
                ),
                {**key, "first": int(first)},
            )
        if settings.annotate and (known is None or int(first) < int(known)):
            record_release(conn, int(app_id), str(version), str(platform), int(first))
    return new


def _step(
    conn: Connection, settings: ReleaseSettings
) -> tuple[int, int, list[tuple[int, str, str]]]:
    lo = lock_watermark(conn)
    params: dict[str, int] = {"lo": lo, "cap": lo + settings.batch_events}
    cond = "id > :lo AND id <= :cap"
    if conn.dialect.name == "postgresql":
        # Ids are taken before commit: leave recent arrivals for the next run.
        params["cutoff"] = now_us() - int(settings.settle_seconds * US_PER_SECOND)
        cond += " AND received_at <= :cutoff"
    hi = conn.execute(text(f"SELECT MAX(id) FROM events WHERE {cond}"), params).scalar()
    if hi is None:
        return 0, lo, []
    rng = {"lo": lo, "hi": int(hi)}
    n = int(
        conn.execute(
            text("SELECT COUNT(*) FROM events WHERE id > :lo AND id <= :hi"), rng
        ).scalar_one()
    )
    _fold(conn, rng)
    new = _versions(conn, rng, settings)
    conn.execute(
        text(
            "UPDATE aggregation_state SET last_event_id = :hi, updated_at = :now WHERE job = :job"
        ),
        {"hi": int(hi), "now": now_us(), "job": JOB},
    )
    return n, int(hi), new


def run_releases(
    engine: Engine, settings: ReleaseSettings, *, max_batches: int | None = None
) -> ReleaseRun:
    """Fold every event that arrived since the last run into the release tables, one
    transaction per ``batch_events`` arrival ids."""
    eng = writer(engine)
    total = batches = 0
    new: list[tuple[int, str, str]] = []
    with map_db_errors(), engine.connect() as conn:
        mark = watermark(conn)
    while max_batches is None or batches < max_batches:
        with map_db_errors(), eng.connect() as conn, conn.begin():
            n, hi, fresh = _step(conn, settings)
        if hi == mark:
            break
        total, batches, mark = total + n, batches + 1, hi
        new += fresh
    for app_id, version, platform in new:
        log.info("app %d: version %s (%s) first seen", app_id, version, platform or "-")
    return ReleaseRun(events=total, watermark=mark, new_versions=new)


def erase_actors(
    conn: Connection, app_id: int, user_id: str, anonymous_ids: list[str]
) -> dict[str, int]:
    """Remove a user's (and their devices') rows from the release tables, inside the
    erasure transaction (``eventkit users delete``); returns rows removed per table."""
    # Holding the job's watermark row makes a job run that already read the user's
    # events commit first (its rows are then deleted here) or wait for the erasure.
    lock_watermark(conn)
    actors = [user_id, *anonymous_ids]
    marks = ", ".join(f":a{i}" for i in range(len(actors)))
    params = {"app": app_id, **{f"a{i}": a for i, a in enumerate(actors)}}
    out = {}
    for table in ("release_user_days", "release_issues"):
        n = conn.execute(
            text(f"DELETE FROM {table} WHERE app_id = :app AND actor IN ({marks})"), params
        ).rowcount
        out[table] = int(n or 0)
    return out
