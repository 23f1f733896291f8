"""The locations panel over real HTTP: countries by flag and name (filtering by their code), and
region and city tabs only when a city database is configured."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from footfall.clock import FrozenClock
from footfall.dashboard.accounts import Accounts
from footfall.dashboard.site import DashboardOptions
from tests.dashboard.conftest import CHEAP_ARGON2
from tests.dashboard.helpers import PASSWORD, log_in, panel, send_pageview, visitor
from tests.enrich.mmdb import city_record, write_city_db
from tests.live import LiveServer, live_server

# addresses whose registry country is known: iptocc's data, shipped in the package
GERMAN, BRITISH, AMERICAN = "5.9.0.1", "81.2.69.142", "8.8.8.8"


def served(db: Path, **config: object) -> Iterator[LiveServer]:
    options = DashboardOptions(password_hasher=CHEAP_ARGON2)
    with live_server(
        db, clock=FrozenClock(), dashboard=options, trusted_proxies=("127.0.0.1",), **config
    ) as srv:
        Accounts(srv.store, srv.clock, CHEAP_ARGON2).create_user(
            "o@example.com", PASSWORD, role="owner"
        )
        yield srv


@pytest.fixture
def plain(db_path: Path) -> Iterator[LiveServer]:
    yield from served(db_path)


@pytest.fixture
def with_cities(tmp_path: Path, db_path: Path) -> Iterator[LiveServer]:
    mmdb = write_city_db(
        tmp_path / "city.mmdb", {"81.2.69.0/24": city_record("GB", "England", "London")}
    )
    yield from served(db_path, geoip_db=str(mmdb))


def dashboard(server: LiveServer, *addresses: str, **params: str) -> tuple[str, httpx.Client]:
    app = server.create_app()
    for address in addresses:
        with visitor(server) as client:
            client.headers["X-Forwarded-For"] = address
            send_pageview(client, app.id, "/")
    server.flush()
    owner = httpx.Client(base_url=server.url, timeout=10)
    assert log_in(owner, "o@example.com").status_code == 303
    return owner.get(f"/apps/{app.id}", params={"period": "day", **params}).text, owner


def tabs(html: str, key: str) -> list[str]:
    m = re.search(rf'data-panel="{key}">(.*?)</section>', html, re.S)
    assert m
    return re.findall(r"<a href=[^>]*#panel-" + key + r'"[^>]*>([^<]*)</a>', m.group(1))


def test_countries_show_flag_and_name_and_filter_by_their_code(plain: LiveServer) -> None:
    html, owner = dashboard(plain, GERMAN, GERMAN, BRITISH, AMERICAN)
    first, *others = panel(html, "locations")
    assert first == ("🇩🇪 Germany", "2")
    assert sorted(others) == [("🇬🇧 United Kingdom", "1"), ("🇺🇸 United States", "1")]
    link = re.search(r'<a href="([^"]+)">🇩🇪 Germany</a>', html)
    assert link and "f=visit%3Acountry%3D%3DDE" in link.group(1)  # the code, not the name
    filtered = owner.get(link.group(1).replace("&amp;", "&")).text
    assert panel(filtered, "locations") == [("🇩🇪 Germany", "2")]
    assert '<li class="chip">Country is <b>🇩🇪 Germany</b>' in filtered
    owner.close()


def test_without_a_city_database_there_are_no_region_and_city_tabs(plain: LiveServer) -> None:
    html, owner = dashboard(plain, BRITISH)
    owner.close()
    assert tabs(html, "locations") == []  # one tab, Countries: no tab bar at all
    assert "Regions" not in html and "Cities" not in html


def test_with_a_city_database_regions_and_cities_are_tabs(with_cities: LiveServer) -> None:
    html, owner = dashboard(with_cities, BRITISH, AMERICAN, locations="city")
    owner.close()
    assert tabs(html, "locations") == ["Countries", "Regions", "Cities"]
    assert sorted(panel(html, "locations")) == [("(none)", "1"), ("London", "1")]
