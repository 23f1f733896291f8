"""Plausible's Sites API over real HTTP: sites, shared links and goals, with the keys allowed to."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import httpx
import pytest

from footfall.clock import FrozenClock
from footfall.keys import KeyRing
from footfall.store.duckdb import DuckDBStore
from tests.live import LiveServer


@pytest.fixture
def sites_key(server: LiveServer) -> str:
    return KeyRing(server.store, server.clock).create(sites=True)[1]


@pytest.fixture
def api(server: LiveServer, sites_key: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {sites_key}"}) as c:
        yield c


def test_a_site_is_created_read_renamed_and_deleted(server: LiveServer, api: httpx.Client) -> None:
    made = api.post(
        "/api/v1/sites", json={"domain": "www.Shop.example", "timezone": "Europe/Berlin"}
    )
    assert made.status_code == 200 and made.json() == {
        "domain": "shop.example",
        "timezone": "Europe/Berlin",
    }
    [app] = server.runtime.apps.all()
    assert (app.name, app.url, app.timezone) == (
        "shop.example",
        "https://shop.example",
        "Europe/Berlin",
    )
    # it is an app like any other: its pixel hits count, found by the domain
    assert api.get("/api/v1/sites/shop.example").json() == made.json()
    assert api.get(f"/api/v1/sites/{app.id}").json() == made.json()
    moved = api.put("/api/v1/sites/shop.example", json={"domain": "store.example"})
    assert moved.json() == {"domain": "store.example", "timezone": "Europe/Berlin"}
    assert api.get("/api/v1/sites/shop.example").status_code == 404
    assert api.delete("/api/v1/sites/store.example").json() == {"deleted": True}
    assert server.runtime.apps.all() == []
    gone = api.get("/api/v1/sites/store.example")
    assert gone.status_code == 404 and gone.json() == {"error": "Site could not be found"}


def test_sites_are_listed_a_page_at_a_time(api: httpx.Client) -> None:
    for n in range(5):
        assert api.post("/api/v1/sites", json={"domain": f"s{n}.example"}).status_code == 200
    first = api.get("/api/v1/sites", params={"limit": 2}).json()
    assert [s["domain"] for s in first["sites"]] == ["s0.example", "s1.example"]
    assert first["meta"]["before"] is None and first["meta"]["limit"] == 2
    second = api.get("/api/v1/sites", params={"limit": 2, "after": first["meta"]["after"]}).json()
    assert [s["domain"] for s in second["sites"]] == ["s2.example", "s3.example"]
    back = api.get("/api/v1/sites", params={"limit": 2, "before": second["meta"]["before"]}).json()
    assert back["sites"] == first["sites"]
    last = api.get("/api/v1/sites", params={"limit": 2, "after": second["meta"]["after"]}).json()
    assert [s["domain"] for s in last["sites"]] == ["s4.example"] and last["meta"]["after"] is None
    assert {s["timezone"] for s in first["sites"]} == {"UTC"}


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({}, "domain can't be blank"),
        ({"domain": "a b.example"}, "domain must be a host name such as example.com"),
        ({"domain": "x.example/path"}, "domain must be a host name such as example.com"),
        ({"domain": "x.example", "timezone": "Mars/Olympus"}, "timezone is invalid"),
        ({"domain": 7}, "domain can't be blank"),
    ],
)
def test_a_bad_site_is_refused_with_a_reason(api: httpx.Client, body: object, error: str) -> None:
    resp = api.post("/api/v1/sites", json=body)
    assert resp.status_code == 400 and resp.json()["error"].startswith(error)


def test_a_domain_is_one_site(api: httpx.Client) -> None:
    assert api.post("/api/v1/sites", json={"domain": "one.example"}).status_code == 200
    again = api.post("/api/v1/sites", json={"domain": "https://www.one.example"})
    assert again.status_code == 400 and "already been taken" in again.json()["error"]
    bad = api.post("/api/v1/sites", content=b"[1, 2", headers={"content-type": "application/json"})
    assert bad.status_code == 400 and bad.json() == {"error": "the body is not JSON"}


def test_a_shared_link_is_found_or_made_and_opens_the_dashboard(
    server: LiveServer, api: httpx.Client
) -> None:
    api.post("/api/v1/sites", json={"domain": "shared.example"})
    link = api.put("/api/v1/sites/shared-links", json={"site_id": "shared.example", "name": "Wiki"})
    assert link.status_code == 200 and link.json()["name"] == "Wiki"
    url = link.json()["url"]
    assert url.startswith(f"{server.url}/share/")
    again = api.put(
        "/api/v1/sites/shared-links", json={"site_id": "shared.example", "name": "Wiki"}
    )
    assert again.json()["url"] == url  # found, not made again
    assert httpx.get(url).status_code == 200  # the public dashboard, without a login
    missing = api.put("/api/v1/sites/shared-links", json={"site_id": "shared.example"})
    assert missing.status_code == 400
    assert missing.json() == {"error": "Parameter `name` is required to create a shared link"}


def test_goals_are_found_or_made_listed_and_deleted(server: LiveServer, api: httpx.Client) -> None:
    api.post("/api/v1/sites", json={"domain": "goals.example"})
    signup = api.put(
        "/api/v1/sites/goals",
        json={"site_id": "goals.example", "goal_type": "event", "event_name": "Signup"},
    ).json()
    assert {k: v for k, v in signup.items() if k != "id"} == {
        "display_name": "Signup",
        "goal_type": "event",
        "event_name": "Signup",
        "page_path": None,
        "domain": "goals.example",
    }
    again = api.put(
        "/api/v1/sites/goals",
        json={"site_id": "goals.example", "goal_type": "event", "event_name": "Signup"},
    ).json()
    assert again["id"] == signup["id"]
    pricing = api.put(
        "/api/v1/sites/goals",
        json={"site_id": "goals.example", "goal_type": "page", "page_path": "/pricing"},
    ).json()
    assert (pricing["display_name"], pricing["page_path"]) == ("Visit /pricing", "/pricing")
    listed = api.get("/api/v1/sites/goals", params={"site_id": "goals.example"}).json()
    assert [g["id"] for g in listed["goals"]] == [signup["id"], pricing["id"]]
    # the same goals the CLI, the dashboard and event:goal use
    [app] = server.runtime.apps.all()
    assert [g.name for g in server.store.list_goals(app.id)] == ["Signup", "Visit /pricing"]
    deleted = api.request(
        "DELETE", f"/api/v1/sites/goals/{signup['id']}", json={"site_id": "goals.example"}
    )
    assert deleted.json() == {"deleted": True}
    gone = api.request(
        "DELETE", f"/api/v1/sites/goals/{signup['id']}", json={"site_id": "goals.example"}
    )
    assert gone.status_code == 404 and gone.json() == {"error": "Goal could not be found"}
    bad = api.put("/api/v1/sites/goals", json={"site_id": "goals.example", "goal_type": "page"})
    assert bad.status_code == 400
    assert bad.json() == {"error": "Parameter `page_path` is required to create a page goal"}
    bad_glob = api.put(
        "/api/v1/sites/goals",
        json={"site_id": "goals.example", "goal_type": "page", "page_path": "no-slash"},
    )
    assert bad_glob.status_code == 400 and bad_glob.json()["error"]


def test_only_keys_made_for_sites_may_manage_them(server: LiveServer) -> None:
    ring = KeyRing(server.store, server.clock)
    stats_only = ring.create()[1]
    with pytest.raises(ValueError):
        ring.create(server.create_app().id, sites=True)  # a sites key is a key for every app
    for headers in ({}, {"Authorization": f"Bearer {stats_only}"}, {"Authorization": "Bearer x"}):
        resp = httpx.post(
            f"{server.url}/api/v1/sites", json={"domain": "x.example"}, headers=headers
        )
        assert resp.status_code == 401 and resp.json()["error"]
    assert len(server.runtime.apps.all()) == 1


def test_a_key_file_from_before_the_sites_api_reads_as_keys_without_it(db_path: Path) -> None:
    clock = FrozenClock()
    store = DuckDBStore(str(db_path))
    key, secret = KeyRing(store, clock).create(name="old")
    store.close()
    with duckdb.connect(str(db_path)) as con:  # as a file written before the column existed
        con.execute("ALTER TABLE api_keys DROP COLUMN sites")
    old = DuckDBStore(str(db_path), read_only=True)
    try:
        [found] = old.list_api_keys()
        assert (found.id, found.sites) == (key.id, False)
        assert KeyRing(old, clock).check(secret) is not None
    finally:
        old.close()
    upgraded = DuckDBStore(str(db_path))  # opened for writing: the column is added
    try:
        assert KeyRing(upgraded, clock).create(sites=True)[0].sites
        assert [k.sites for k in upgraded.list_api_keys()] == [False, True]
    finally:
        upgraded.close()
