"""The vendor SDK protocols over HTTP: one Litestar ``Router`` per vendor, beside the
native capture routes. The decoding of each wire format is in :mod:`eventkit.compat`;
here are only the HTTP shells. Paths are registered without a trailing slash; Litestar
matches ``/batch/`` to ``/batch`` without redirecting, which SDK uploads need.
"""

from __future__ import annotations

from litestar import Router

from eventkit.api.vendors.amplitude import AMPLITUDE
from eventkit.api.vendors.mixpanel import MIXPANEL
from eventkit.api.vendors.posthog import POSTHOG
from eventkit.api.vendors.segment import SEGMENT

__all__ = ["ROUTERS"]

#: Every vendor router; ``compat.vendors`` selects the ones mounted.
ROUTERS: list[Router] = [SEGMENT, POSTHOG, AMPLITUDE, MIXPANEL]
