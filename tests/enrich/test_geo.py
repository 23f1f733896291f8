"""Country from the client address (RIR data shipped in iptocc); region and city from a .mmdb file."""

from __future__ import annotations

from pathlib import Path

import pytest

from footfall.enrich.geo import CityDatabase, GeoDatabaseError, GeoStep, lookup_country
from footfall.model import App, Context, Hit
from tests.enrich.mmdb import city_record, write_city_db

APP = App(id="00000000-0000-4000-8000-000000000001", name="t")


@pytest.mark.parametrize(
    ("ip", "country"),
    [
        ("8.8.8.8", "US"),  # Google Public DNS, ARIN
        ("2001:4860:4860::8888", "US"),  # Google Public DNS over IPv6
        ("193.0.6.139", "NL"),  # RIPE NCC's own web server
        ("2001:67c:2e8:22::c100:68b", "NL"),  # the same over IPv6
        ("1.0.16.1", "JP"),  # APNIC
        ("::ffff:8.8.8.8", "US"),  # IPv4 seen through an IPv6 socket
    ],
)
def test_public_addresses_have_their_registered_country(ip: str, country: str) -> None:
    assert lookup_country(ip) == country


@pytest.mark.parametrize(
    "ip",
    [
        "127.0.0.1",
        "10.1.2.3",
        "192.168.1.10",
        "172.16.0.1",
        "::1",
        "fe80::1",
        "fd00::1",
        "not-an-ip",
        "",
    ],
)
def test_private_loopback_and_junk_have_no_country(ip: str) -> None:
    assert lookup_country(ip) is None


def geo(step: GeoStep, ip: str) -> tuple[str | None, str | None, str | None]:
    hit = Hit()
    step(hit, Context(ip=ip), APP)
    return hit.country, hit.region, hit.city


def test_without_a_city_database_only_the_country_is_filled() -> None:
    assert geo(GeoStep(), "8.8.8.8") == ("US", None, None)
    assert geo(GeoStep(), "127.0.0.1") == (None, None, None)


def test_a_city_database_adds_region_and_city(tmp_path: Path) -> None:
    path = write_city_db(
        tmp_path / "city.mmdb",
        {
            "8.8.8.0/24": city_record("US", "California", "Mountain View"),
            "193.0.0.0/16": city_record("NL", "North Holland", "Amsterdam"),
        },
    )
    step = GeoStep(CityDatabase(str(path)))
    assert "GeoLite2-City" in step.describe()
    assert geo(step, "8.8.8.8") == ("US", "California", "Mountain View")
    assert geo(step, "193.0.6.139") == ("NL", "North Holland", "Amsterdam")
    assert geo(step, "1.0.16.1") == ("JP", None, None)  # not in the file: country only
    assert geo(step, "2001:4860:4860::8888") == ("US", None, None)  # IPv4-only file
    assert geo(step, "192.168.1.1") == (None, None, None)


def test_a_missing_or_broken_database_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(GeoDatabaseError, match="no such file"):
        CityDatabase(str(tmp_path / "missing.mmdb"))
    junk = tmp_path / "junk.mmdb"
    junk.write_bytes(b"not a database" * 10)
    with pytest.raises(GeoDatabaseError, match="not a MaxMind database"):
        CityDatabase(str(junk))
