"""``/amplitude``: the HTTP V2 and Batch upload of Amplitude's SDKs. As Amplitude does,
a batch with any invalid event is refused whole (400 with the bad indices) and the SDK
resends the valid ones; :mod:`eventkit.compat.amplitude` maps the events.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, post

from eventkit.api.vendors import http
from eventkit.compat import amplitude
from eventkit.compat.common import json_body
from eventkit.errors import EventKitError
from eventkit.timeutil import now_us

__all__ = ["AMPLITUDE"]

_TAGS = ["compat"]


def _amplitude_error(request: Request, exc: EventKitError) -> tuple[int, Any, dict[str, str]]:  # type: ignore[type-arg]
    events = getattr(request.state, "amplitude_events", None)
    return amplitude.error_body(exc, events)


_AMPLITUDE_FIELDS = {
    "event": "event_type",
    "properties": "event_properties",
    "context": "event_properties",
    "timestamp": "time",
    "anonymous_id": "device_id",
}


@post(
    ["/2/httpapi", "/batch"],
    name="amplitude-upload",
    tags=_TAGS,
    status_code=200,
    summary="Amplitude HTTP V2 and Batch upload",
)
async def amplitude_upload(request: Request) -> Response[bytes]:  # type: ignore[type-arg]
    """Amplitude's upload: the whole batch is refused (400, bad indices) if any event
    is invalid, as Amplitude does; its SDKs then resend the valid ones."""
    data = await http.read(request)
    payload = json_body(data, "Amplitude")
    api_key, events, min_len = amplitude.events_of(payload)
    request.state.amplitude_events = events
    key = await http.resolve(request, api_key)
    http.check_count(len(events), request)
    problems = amplitude.Problems()
    items = [amplitude.draft(i, ev, min_len, problems) for i, ev in enumerate(events)]
    if problems:
        return http.json_response(problems.body(), 400)
    decoded = http.decode(
        request, items, app_id=key.app_id, source="amplitude", sent_at=None, prefix="events"
    )
    if decoded.rejected:
        for r in decoded.rejected:
            for e in r.errors:
                field = e.field.split("].", 1)[-1].split(".", 1)[0]
                problems.add(problems.invalid, _AMPLITUDE_FIELDS.get(field, field), r.index)
        return http.json_response(problems.body(), 400)
    result = await http.store(request, decoded, "amplitude")
    ingested = result.accepted + result.duplicates
    return http.json_response(amplitude.success_body(ingested, len(data), now_us() // 1000))


AMPLITUDE = Router(
    path="/amplitude",
    route_handlers=[amplitude_upload],
    exception_handlers=http.handlers_for(_amplitude_error),
)
