"""Annotations: notes on the timeline shown on trend charts (CLI, TUI, API meta).

The release-health job records one automatically when an app version is first seen
(``kind = "release"``, idempotent by its key); ``eventkit annotate`` adds manual ones.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection, Engine

from eventkit.errors import InvalidRequestError, NotFoundError
from eventkit.storage.errors import map_db_errors
from eventkit.storage.models import ANNOTATIONS
from eventkit.timeutil import from_us, now_us

__all__ = [
    "Annotation",
    "annotations_between",
    "chart_marks",
    "create_annotation",
    "delete_annotation",
    "list_annotations",
    "record_release",
]

_A = ANNOTATIONS.c


@dataclass(frozen=True)
class Annotation:
    """A note at an instant."""

    id: int
    app_id: int
    ts: int
    text: str
    kind: str
    created_by: str

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``at`` as ISO 8601)."""
        return {**asdict(self), "at": from_us(self.ts).isoformat(timespec="seconds")}


def record_release(conn: Connection, app_id: int, version: str, platform: str, first: int) -> None:
    """The annotation of a version first seen at ``first`` (moved earlier when a late
    event shows an earlier first use)."""
    key = f"release:{platform}:{version}"[:120]
    label = f"{version} ({platform}) first seen" if platform else f"{version} first seen"
    row = conn.execute(select(_A.id, _A.ts).where(_A.app_id == app_id, _A.key == key)).first()
    if row is None:
        conn.execute(
            insert(ANNOTATIONS).values(
                app_id=app_id,
                ts=first,
                text=label[:500],
                kind="release",
                key=key,
                created_at=now_us(),
                created_by="eventkit",
            )
        )
    elif first < int(row.ts):
        conn.execute(update(ANNOTATIONS).where(_A.id == row.id).values(ts=first))


def create_annotation(engine: Engine, app_id: int, ts: int, note: str, actor: str) -> Annotation:
    """Add a manual annotation.

    Raises:
        InvalidRequestError: the text is empty or longer than 500 characters.
    """
    note = note.strip()
    if not note or len(note) > 500:
        raise InvalidRequestError("the annotation text must be 1 to 500 characters")
    with map_db_errors(), engine.begin() as conn:
        new_id = conn.execute(
            insert(ANNOTATIONS)
            .values(
                app_id=app_id,
                ts=ts,
                text=note,
                kind="manual",
                key=None,
                created_at=now_us(),
                created_by=actor[:200],
            )
            .returning(_A.id)
        ).scalar_one()
    return Annotation(int(new_id), app_id, ts, note, "manual", actor[:200])


def annotations_between(conn: Connection, app_id: int, start: int, end: int) -> list[Annotation]:
    """The app's annotations with ``start <= ts < end``, oldest first."""
    rows = conn.execute(
        select(_A.id, _A.app_id, _A.ts, _A.text, _A.kind, _A.created_by)
        .where(_A.app_id == app_id, _A.ts >= start, _A.ts < end)
        .order_by(_A.ts, _A.id)
    ).all()
    return [Annotation(int(r[0]), int(r[1]), int(r[2]), r[3], r[4], r[5]) for r in rows]


def list_annotations(engine: Engine, app_id: int, start: int, end: int) -> list[Annotation]:
    """:func:`annotations_between` on its own connection."""
    with map_db_errors(), engine.connect() as conn:
        return annotations_between(conn, app_id, start, end)


def delete_annotation(engine: Engine, app_id: int, annotation_id: int) -> None:
    """Delete one of the app's annotations.

    Raises:
        NotFoundError: the app has no annotation with that id.
    """
    with map_db_errors(), engine.begin() as conn:
        gone = conn.execute(
            delete(ANNOTATIONS).where(_A.app_id == app_id, _A.id == annotation_id)
        ).rowcount
    if not gone:
        raise NotFoundError(
            f"no annotation #{annotation_id} in this app: `eventkit annotate list` shows them"
        )


def chart_marks(labels: list[str], annotations: list[dict[str, Any]]) -> list[tuple[int, str]]:
    """``(index of the bucket, text)`` of each annotation (the ``meta["annotations"]`` of
    a trends report) on a chart whose x labels are the report's ISO bucket starts."""
    starts = [datetime.fromisoformat(b if "T" in b else f"{b}T00:00:00+00:00") for b in labels]
    marks = []
    for a in annotations:
        at = datetime.fromisoformat(a["at"])
        index = bisect_right(starts, at) - 1
        if index >= 0:
            marks.append((index, str(a["text"])))
    return marks
