"""The verdicts of the ingest service: what each protocol answers after a request.

Plain data with no dependencies, so the pipeline, the service and every protocol
adapter can share them.
"""

from __future__ import annotations

import msgspec

from eventkit.capture.validate import FieldError

__all__ = ["BatchResult", "FieldReason", "IdentifyResult", "Rejection", "reasons"]


class FieldReason(msgspec.Struct):
    """One problem with one field."""

    field: str
    message: str


class Rejection(msgspec.Struct):
    """A rejected event: its position in the batch, its id if readable, and why."""

    index: int
    event_id: str | None
    errors: list[FieldReason]


class BatchResult(msgspec.Struct):
    """The verdict on a batch."""

    accepted: int
    duplicates: int
    rejected: list[Rejection]
    duplicate_event_ids: list[str] = []


class IdentifyResult(msgspec.Struct):
    """The verdict on an identify call."""

    event_id: str
    duplicate: bool


def reasons(errors: list[FieldError]) -> list[FieldReason]:
    """``(field, message)`` pairs as :class:`FieldReason` values."""
    return [FieldReason(field=f, message=m) for f, m in errors]
