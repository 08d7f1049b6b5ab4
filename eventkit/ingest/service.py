"""The ingest service: native batches, identify calls and server-made events in,
verdicts out.

Every way an event enters eventkit ends in :meth:`CaptureService.store`: the native API,
``POST /v1/identify``, the vendor adapters and the flag exposures the server records.
It runs the ingest pipeline (tombstones, retention, plugins, the tracking plan,
scrubbing, the IP policy), commits through the group-commit writer, feeds the sinks and
counts the metrics. It never sees HTTP.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import msgspec

from eventkit.capture.canonical import Arrival, Draft, canonical_event
from eventkit.capture.decode import decode_body
from eventkit.capture.native import check_event
from eventkit.capture.schema import CanonicalEvent, Envelope, IdentifyRequest
from eventkit.capture.validate import FieldError, check_properties, check_text_fields, timestamp_us
from eventkit.config import Settings
from eventkit.errors import InvalidEventError, InvalidRequestError, PayloadTooLargeError
from eventkit.ingest.pipeline import Batch, Pipeline
from eventkit.ingest.verdicts import BatchResult, IdentifyResult, Rejection, reasons
from eventkit.ingest.writer import GroupCommitWriter
from eventkit.metrics import Metrics
from eventkit.plugins.sinks import SinkDispatcher
from eventkit.storage.users import ProfileOp
from eventkit.timeutil import now_us

__all__ = ["CaptureService"]

_envelope = msgspec.json.Decoder(Envelope)
_identify = msgspec.json.Decoder(IdentifyRequest)
#: Namespace of identify event ids derived from the request (so retries deduplicate).
IDENTIFY_NAMESPACE = uuid.UUID("5b0c3e8e-7f4a-4d52-9a55-2f1f0f7f3a10")


def _positions(n_accepted: int, rejected: list[Rejection]) -> list[int]:
    """Request indexes of the accepted events (those not rejected, in order)."""
    if not rejected:
        return list(range(n_accepted))
    gone = {r.index for r in rejected}
    out: list[int] = []
    i = 0
    while len(out) < n_accepted:
        if i not in gone:
            out.append(i)
        i += 1
    return out


def _decode_error(exc: msgspec.DecodeError | msgspec.ValidationError, what: str) -> str:
    text = str(exc)
    if isinstance(exc, msgspec.ValidationError):
        return f"the {what} body does not match the schema: {text} (docs/mobile_api.md)"
    return f"the {what} body is not valid JSON: {text}"


class CaptureService:
    """Validates native batches and hands accepted events to the writer."""

    def __init__(
        self,
        settings: Settings,
        writer: GroupCommitWriter,
        metrics: Metrics,
        pipeline: Pipeline | None = None,
        sinks: SinkDispatcher | None = None,
    ) -> None:
        self.settings = settings
        self.limits = settings.limits
        self.writer = writer
        self.metrics = metrics
        self.pipeline = pipeline if pipeline is not None else Pipeline(settings)
        #: Plugins that react to stored events, fed after each commit (off the request path).
        self.sinks = sinks

    def _body(self, body: bytes, content_encoding: str | None) -> bytes:
        return decode_body(body, content_encoding, self.limits.max_body_bytes)

    def validate_batch(
        self,
        app_id: int,
        body: bytes,
        *,
        content_encoding: str | None = None,
        ip: str | None = None,
        received_at: int | None = None,
    ) -> tuple[list[CanonicalEvent], list[Rejection]]:
        """Decode and validate a batch: the accepted events and the rejections.

        Raises:
            InvalidRequestError: the body is not a batch at all.
            PayloadTooLargeError: the body or the event count exceeds a limit.
        """
        data = self._body(body, content_encoding)
        try:
            envelope = _envelope.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise InvalidRequestError(_decode_error(exc, "batch")) from None
        n = len(envelope.events)
        if n == 0:
            raise InvalidRequestError('the batch has no events: send {"events": [...]}')
        if n > self.limits.max_batch_events:
            raise PayloadTooLargeError(
                f"the batch has {n} events; the limit is {self.limits.max_batch_events} "
                "(limits.max_batch_events). Split it into smaller batches"
            )
        at = Arrival(
            app_id=app_id,
            source="native",
            received_at=received_at if received_at is not None else now_us(),
            sent_at=timestamp_us(envelope.sent_at) if envelope.sent_at is not None else None,
            limits=self.limits,
            ip=ip,
        )
        accepted: list[CanonicalEvent] = []
        rejected: list[Rejection] = []
        for i, raw in enumerate(envelope.events):
            v = check_event(i, raw, at)
            if v.event is not None:
                accepted.append(v.event)
            else:
                rejected.append(Rejection(index=i, event_id=v.event_id, errors=reasons(v.errors)))
        return accepted, rejected

    async def capture(
        self,
        app_id: int,
        body: bytes,
        *,
        content_encoding: str | None = None,
        ip: str | None = None,
        user_agent: str | None = None,
    ) -> BatchResult:
        """Validate a native batch, store its valid events durably, return the verdict."""
        accepted, rejected = self.validate_batch(
            app_id, body, content_encoding=content_encoding, ip=ip
        )
        return await self.store(accepted, rejected, user_agent=user_agent)

    async def store(
        self,
        accepted: list[CanonicalEvent],
        rejected: list[Rejection],
        source: str = "native",
        ops: Sequence[ProfileOp] = (),
        *,
        user_agent: str | None = None,
    ) -> BatchResult:
        """Run the ingest pipeline on validated events, commit what it keeps, and build
        the verdict (every protocol ends here).

        ``rejected`` holds the request's invalid events by index; ``accepted`` holds the
        others in request order. ``ops`` are identify operations committed with the
        events; each applies only if its event is stored now (not dropped by a stage,
        not a duplicate), with its traits scrubbed like the event's properties.
        """
        ops = list(ops)
        if accepted and self.pipeline.stages:
            batch = await self.pipeline.run(
                Batch(
                    app_id=accepted[0].app_id,
                    source=source,
                    events=accepted,
                    positions=_positions(len(accepted), rejected),
                    rejected=rejected,
                    user_agent=user_agent,
                    ops=ops,
                )
            )
            accepted, rejected, dropped, ops = (
                batch.events,
                batch.rejected,
                batch.dropped,
                batch.ops,
            )
        else:
            dropped = 0
        new = await self.writer.submit(accepted, ops) if accepted else []
        stored = sum(new)
        dups = [str(e.event_id) for e, n in zip(accepted, new, strict=True) if not n]
        if self.sinks is not None and stored:
            self.sinks.publish([e for e, n in zip(accepted, new, strict=True) if n])
        self.metrics.count_events(source, stored, len(dups), len(rejected))
        return BatchResult(
            accepted=stored + dropped,
            duplicates=len(dups),
            rejected=rejected,
            duplicate_event_ids=dups,
        )

    async def store_server_events(self, events: list[CanonicalEvent], source: str) -> BatchResult:
        """Store events the server makes itself (flag exposures) through the same
        pipeline: an erased user's exposure is dropped, properties are scrubbed, sinks
        and metrics see them."""
        return await self.store(events, [], source)

    async def identify(
        self,
        app_id: int,
        body: bytes,
        *,
        content_encoding: str | None = None,
        ip: str | None = None,
        user_agent: str | None = None,
    ) -> IdentifyResult:
        """Link a device to a user and set traits; stored as an ``$identify`` event.

        Raises:
            InvalidRequestError: the body is not an identify request.
            InvalidEventError: a field is invalid (field-level reasons attached).
        """
        data = self._body(body, content_encoding)
        try:
            req = _identify.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise InvalidRequestError(_decode_error(exc, "identify")) from None
        event = self._identify_event(app_id, req, data, ip)
        op = ProfileOp(
            app_id=app_id,
            user_id=req.user_id,
            event_id=event.event_id,
            at=event.ts,
            anonymous_id=req.anonymous_id,
            set=req.set,
            set_once=req.set_once,
        )
        result = await self.store([event], [], "native", [op], user_agent=user_agent)
        if result.rejected:
            errors = [(r.field, r.message) for r in result.rejected[0].errors]
            raise InvalidEventError("; ".join(f"{f} {m}" for f, m in errors), errors=errors)
        return IdentifyResult(event_id=str(event.event_id), duplicate=bool(result.duplicates))

    def _identify_event(
        self, app_id: int, req: IdentifyRequest, data: bytes, ip: str | None
    ) -> CanonicalEvent:
        """The ``$identify`` event of a request (:func:`canonical_event`), after the
        checks only identify has: a user id, and traits within the property limits."""
        errors: list[FieldError] = check_text_fields(
            (("user_id", req.user_id), ("anonymous_id", req.anonymous_id))
        )
        if not req.user_id:
            errors.append(("user_id", "must not be empty"))
        errors += check_properties("set", req.set, self.limits)
        errors += check_properties("set_once", req.set_once, self.limits)
        received = now_us()
        event: CanonicalEvent | list[FieldError] = errors
        if not errors:
            draft = Draft(
                name="$identify",
                # Without a client event_id, derive one from the request so a retry
                # deduplicates.
                event_id=req.event_id
                or uuid.uuid5(IDENTIFY_NAMESPACE, f"{app_id}:{data.decode()}"),
                timestamp=timestamp_us(req.timestamp) if req.timestamp is not None else None,
                user_id=req.user_id,
                anonymous_id=req.anonymous_id,
                properties={"$set": req.set, "$set_once": req.set_once},
                context=req.context,
            )
            sent_at = timestamp_us(req.sent_at) if req.sent_at is not None else None
            # $identify is written by eventkit itself: any_reserved.
            at = Arrival(app_id, "native", received, sent_at, self.limits, ip, any_reserved=True)
            event = canonical_event(draft, at)
        if not isinstance(event, CanonicalEvent):
            self.metrics.count_events("native", 0, 0, 1)
            raise InvalidEventError("; ".join(f"{f} {m}" for f, m in event), errors=event)
        return event
