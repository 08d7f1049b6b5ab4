"""The bundled GeoIP plugin, on a small MaxMind database built by the test."""

from __future__ import annotations

from pathlib import Path

import maxminddb
import pytest
from sqlalchemy.engine import Engine

import eventkit_geoip
from eventkit.api import capture as capture_api
from eventkit.config import Settings
from eventkit.storage.apps import create_app as create_tracked_app
from tests.conftest import make_settings
from tests.factories import make_event
from tests.inprocess import api_client, bearer
from tests.plugins.conftest import Use
from tests.plugins.helpers import batch, stored
from tests.plugins.mmdb import write_mmdb

NETWORKS = {
    "81.2.69.0/24": {
        "country": {"iso_code": "GB", "names": {"en": "United Kingdom"}},
        "subdivisions": [{"iso_code": "ENG", "names": {"en": "England"}}],
        "city": {"names": {"en": "London"}},
    },
    "89.160.20.112/28": {
        "country": {"iso_code": "SE", "names": {"en": "Sweden"}},
        "subdivisions": [{"names": {"en": "Östergötland"}}],
        "city": {"names": {"en": "Linköping"}},
    },
    "2.125.160.216/29": {"registered_country": {"iso_code": "DE"}},
}


@pytest.fixture
def mmdb(tmp_path: Path) -> Path:
    return write_mmdb(tmp_path / "city.mmdb", NETWORKS)


def test_lookup_reads_city_region_and_country(mmdb: Path) -> None:
    reader = maxminddb.open_database(str(mmdb))
    assert eventkit_geoip.lookup(reader, "81.2.69.160") == {
        "country": "GB", "region": "ENG", "city": "London"
    }  # fmt: skip
    assert eventkit_geoip.lookup(reader, "89.160.20.113") == {
        "country": "SE", "region": "Östergötland", "city": "Linköping"
    }  # fmt: skip
    assert eventkit_geoip.lookup(reader, "2.125.160.220") == {"country": "DE"}
    assert eventkit_geoip.lookup(reader, "2.125.160.230") == {}  # just outside the /29
    assert eventkit_geoip.lookup(reader, "8.8.8.8") == {}
    assert eventkit_geoip.lookup(reader, "2001:db8::1") == {}  # IPv4-only database
    assert eventkit_geoip.lookup(reader, "not an ip") == {}


def test_client_location_wins(mmdb: Path, tmp_path: Path) -> None:
    settings = make_settings(f"sqlite:///{tmp_path / 'x.db'}", PLUGINS__GEOIP__DATABASE=str(mmdb))
    ev = make_event(1, ip="81.2.69.1", country="FR", context={"location": {"city": "Paris"}})
    out = eventkit_geoip.eventkit_enrich_event(ev, settings)
    assert out.country == "FR"
    assert out.context["location"] == {"country": "GB", "region": "ENG", "city": "Paris"}
    missing = make_settings(
        f"sqlite:///{tmp_path / 'x.db'}", PLUGINS__GEOIP__DATABASE="/no/such.mmdb"
    )
    assert eventkit_geoip.eventkit_enrich_event(ev, missing) is None


async def test_geoip_before_the_ip_is_reduced(
    database_url: str, engine: Engine, mmdb: Path, use_plugins: Use, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_plugins(eventkit_geoip)
    settings: Settings = make_settings(database_url, PLUGINS__GEOIP__DATABASE=str(mmdb))
    keys = create_tracked_app(engine, "geo")
    monkeypatch.setattr(capture_api, "_client_ip", lambda request: "89.160.20.120")
    async with api_client(settings) as client:
        r = await client.post("/v1/events", json=batch("opened"), headers=bearer(keys.write_key))
    assert r.json()["accepted"] == 1
    row = stored(engine, keys.app_id)["opened"]
    # Looked up with the full address (the /24 89.160.20.0 is not in the database).
    assert row["country"] == "SE"
    assert row["context"]["location"] == {
        "country": "SE", "region": "Östergötland", "city": "Linköping"
    }  # fmt: skip
    assert row["ip"] == "89.160.20.0"
