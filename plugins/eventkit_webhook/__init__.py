"""eventkit-webhook: forward stored events to an HTTP endpoint (docs/plugins.md).

A sink (``eventkit_events_stored``): after each commit, the newly stored events are
POSTed in batches of ``batch_size`` as ``{"events": [...]}``, signed with
HMAC-SHA256 (``X-Eventkit-Signature``), retried with exponential backoff, and kept in
the ``webhook_deadletters`` table when every attempt failed. ``eventkit webhook
deadletter list|replay`` shows and re-sends them. Off until named in
``plugins.enable``; needs ``[plugins.webhook] url``.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy.engine import Connection

from eventkit.capture.schema import CanonicalEvent
from eventkit.config import Settings
from eventkit.plugins.hookspecs import hookimpl
from eventkit_webhook.delivery import Webhook, erase_from_deadletters, options_of

__all__ = [
    "EVENTKIT_DEFAULT_ENABLED",
    "eventkit_cli_commands",
    "eventkit_erase_user",
    "eventkit_events_stored",
    "eventkit_shutdown",
    "eventkit_startup",
    "webhook_for",
]

EVENTKIT_DEFAULT_ENABLED = False
log = logging.getLogger("eventkit_webhook")

_lock = threading.Lock()
#: One Webhook per settings object (kept alive with it, so ids are not reused).
_webhooks: dict[int, tuple[Settings, Webhook]] = {}


def webhook_for(settings: Settings) -> Webhook:
    """The Webhook of these settings, created on first use.

    Raises:
        ConfigError: ``[plugins.webhook]`` is missing or invalid.
    """
    with _lock:
        entry = _webhooks.get(id(settings))
        if entry is None:
            from eventkit.storage.engine import make_engine

            entry = (settings, Webhook(options_of(settings), make_engine(settings)))
            _webhooks[id(settings)] = entry
        return entry[1]


@hookimpl
def eventkit_startup(settings: Settings) -> None:
    """Check ``[plugins.webhook]`` at start, so a bad value shows right away."""
    options_of(settings)


@hookimpl
def eventkit_events_stored(events: list[CanonicalEvent], settings: Settings) -> None:
    """POST the newly stored events (in the sink's thread, never the request's)."""
    webhook_for(settings).send(events)


@hookimpl
def eventkit_erase_user(
    conn: Connection, app_id: int, user_id: str, anonymous_ids: list[str]
) -> dict[str, int]:
    """Remove the user's events from dead-lettered batches (``eventkit users delete``)."""
    return {"webhook_deadletters": erase_from_deadletters(conn, app_id, user_id, anonymous_ids)}


@hookimpl
def eventkit_shutdown(settings: Settings) -> None:
    """Close the connections and the engine of these settings' webhook."""
    with _lock:
        entry = _webhooks.pop(id(settings), None)
    if entry is not None:
        entry[1].close()
        if entry[1].engine is not None:
            entry[1].engine.dispose()


@hookimpl
def eventkit_cli_commands(app: Any) -> None:
    """``eventkit webhook deadletter list|replay``."""
    from eventkit_webhook.cli import app as webhook_app

    app.add_typer(webhook_app, name="webhook")
