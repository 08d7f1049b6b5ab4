"""eventkit-geoip: country, region and city from the client address, looked up in a
MaxMind DB file (GeoLite2/GeoIP2 City or Country) with ``maxminddb``; docs/plugins.md.

The lookup runs in the pipeline's plugin stage, before the IP stage reduces the
address, so it sees the full client IP. It fills ``context.location`` (``country``,
``region``, ``city``) where the client did not send them, and the ``country`` column
when it is empty. Off until named in ``plugins.enable``; needs::

    [plugins.geoip]
    database = "/var/lib/GeoIP/GeoLite2-City.mmdb"
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

import msgspec

from eventkit.capture.schema import CanonicalEvent, as_dict
from eventkit.config import Settings
from eventkit.plugins.hookspecs import hookimpl

__all__ = ["EVENTKIT_DEFAULT_ENABLED", "eventkit_enrich_event", "eventkit_startup", "lookup"]

EVENTKIT_DEFAULT_ENABLED = False
log = logging.getLogger("eventkit_geoip")


@lru_cache(maxsize=8)
def open_reader(path: str) -> Any:
    """The reader of the database at ``path`` (memory-mapped, opened once), or None
    when it cannot be opened (logged once)."""
    try:
        import maxminddb
    except ImportError:
        log.error("geoip is enabled but maxminddb is missing: pip install 'eventkit[geoip]'")
        return None
    try:
        return maxminddb.open_database(path, maxminddb.MODE_AUTO)
    except (OSError, ValueError) as exc:
        log.error("geoip: cannot open the MaxMind database %s (%s); no lookups", path, exc)
        return None


def _database(settings: Settings) -> str | None:
    value = settings.plugins.options("geoip").get("database")
    return str(value) if value else None


def _name(node: Any) -> str | None:
    if not isinstance(node, dict):
        return None
    names = node.get("names")
    if isinstance(names, dict) and isinstance(names.get("en"), str):
        return str(names["en"])
    return None


def lookup(reader: Any, ip: str) -> dict[str, str]:
    """``{"country", "region", "city"}`` (the known ones) for ``ip``; empty if unknown."""
    try:
        record = reader.get(ip)
    except ValueError:  # not an address, or IPv6 in an IPv4-only database
        return {}
    if not isinstance(record, dict):
        return {}
    out: dict[str, str] = {}
    country = record.get("country") or record.get("registered_country")
    if isinstance(country, dict) and isinstance(country.get("iso_code"), str):
        out["country"] = country["iso_code"]
    subdivisions = record.get("subdivisions")
    if isinstance(subdivisions, list) and subdivisions and isinstance(subdivisions[0], dict):
        region = subdivisions[0].get("iso_code") or _name(subdivisions[0])
        if isinstance(region, str):
            out["region"] = region
    city = _name(record.get("city"))
    if city:
        out["city"] = city
    return out


@hookimpl
def eventkit_startup(settings: Settings) -> None:
    """Open the database at start, so a wrong path shows in the log right away."""
    path = _database(settings)
    if path is None:
        log.error("geoip is enabled but [plugins.geoip] database is not set; no lookups")
    else:
        open_reader(path)


@hookimpl
def eventkit_enrich_event(event: CanonicalEvent, settings: Settings) -> Any:
    """Fill ``context.location`` and ``country`` from the full client address."""
    if event.ip is None:
        return None
    path = _database(settings)
    reader = open_reader(path) if path else None
    if reader is None:
        return None
    found = lookup(reader, event.ip)
    if not found:
        return None
    ctx = as_dict(event.context)
    location = ctx.get("location")
    if not isinstance(location, dict):
        location = {}
    ctx["location"] = {**found, **location}  # what the client sent wins
    country = event.country or (found.get("country") if "country" not in location else None)
    return msgspec.structs.replace(event, context=ctx, country=country or event.country)
