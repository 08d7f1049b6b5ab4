"""eventkit's first-party Python client: batching, background flush, retries with
backoff and Retry-After, an on-disk outbox that survives restarts, and flag evaluation
with a cached ETag.

    from eventkit.client import Client

    with Client("https://analytics.example.com", "ek_write_...", queue_path="outbox.db") as ek:
        ek.track("signup_completed", user_id="u-1", properties={"plan": "pro"})
        if ek.flags.value("new_checkout", False, user_id="u-1"):
            ...
"""

from eventkit.client.client import Client, ClientStats
from eventkit.client.flags import FlagCache, FlagError
from eventkit.client.queue import Outbox
from eventkit.client.transport import Backoff, GaveUpError

__all__ = ["Backoff", "Client", "ClientStats", "FlagCache", "FlagError", "GaveUpError", "Outbox"]
