"""The Stats API over real HTTP: Plausible v1 paths and shapes, keys, and errors that name the parameter."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from footfall.clock import FrozenClock
from footfall.hit_tables import hits_to_table
from footfall.keys import KeyRing
from footfall.model import App
from tests.live import LiveServer, live_server
from tests.query.dataset import APP_ID, NOW_MS, OTHER_ID, hits

BASE = {"site_id": APP_ID, "period": "7d", "date": "2026-01-10"}


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    db = Path(tmp_path_factory.mktemp("api")) / "api.duckdb"
    with live_server(db, clock=FrozenClock(NOW_MS)) as server:
        store = server.store
        store.create_app(
            App(id=APP_ID, name="berlin", url="https://site.example", timezone="Europe/Berlin")
        )
        store.create_app(App(id=OTHER_ID, name="other", url="https://other.example"))
        server.runtime.apps.reload()
        server.runtime.feed.write_table(hits_to_table(hits()))
        server.runtime.feed.fold()
        yield server


@pytest.fixture(scope="module")
def keys(srv: LiveServer) -> dict[str, str]:
    ring = KeyRing(srv.store, srv.clock)
    every = ring.create()[1]
    other_only = ring.create(OTHER_ID, "other only")[1]
    revoked_key, revoked = ring.create()
    ring.revoke(revoked_key.id)
    return {"every": every, "other": other_only, "revoked": revoked}


@pytest.fixture(scope="module")
def api(srv: LiveServer, keys: dict[str, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=srv.url, headers={"Authorization": f"Bearer {keys['every']}"}) as c:
        yield c


def test_aggregate_with_comparison(api: httpx.Client) -> None:
    r = api.get(
        "/api/v1/stats/aggregate",
        params={
            **BASE,
            "period": "day",
            "date": "2026-01-09",
            "metrics": "visitors,pageviews,bounce_rate,visit_duration",
            "compare": "previous_period",
        },
    )
    assert r.status_code == 200, r.text
    assert r.json() == {
        "results": {
            "visitors": {"value": 3, "change": 200},
            "pageviews": {"value": 6, "change": 500},
            "bounce_rate": {"value": 50, "change": -50},
            "visit_duration": {"value": 338, "change": 100},
        }
    }


def test_site_id_may_be_the_domain(api: httpx.Client) -> None:
    r = api.get(
        "/api/v1/stats/aggregate",
        params={**BASE, "site_id": "site.example", "metrics": "pageviews"},
    )
    assert r.json() == {"results": {"pageviews": {"value": 10}}}


def test_timeseries(api: httpx.Client) -> None:
    r = api.get("/api/v1/stats/timeseries", params={**BASE, "metrics": "visitors,visits"})
    results = r.json()["results"]
    assert [row["date"] for row in results] == [f"2026-01-{d:02}" for d in range(4, 11)]
    assert results[-2:] == [
        {"date": "2026-01-09", "visitors": 3, "visits": 4},
        {"date": "2026-01-10", "visitors": 3, "visits": 2},
    ]


def test_breakdown_with_filters_limit_and_page(api: httpx.Client) -> None:
    r = api.get(
        "/api/v1/stats/breakdown",
        params={
            **BASE,
            "property": "event:page",
            "metrics": "visitors,pageviews",
            "limit": 2,
            "page": 1,
        },
    )
    assert r.json() == {
        "results": [
            {"page": "/", "visitors": 3, "pageviews": 3},
            {"page": "/blog/one", "visitors": 3, "pageviews": 3},
        ]
    }
    r = api.get(
        "/api/v1/stats/breakdown",
        params={**BASE, "property": "visit:source", "filters": "event:page==/blog/**"},
    )
    # sessions with a blog pageview: s8 (Bing), s1 and s4 (Google), s2 (direct)
    assert r.json()["results"] == [
        {"source": "Google", "visitors": 2},
        {"source": "Direct / None", "visitors": 1},  # Plausible's label for no source
        {"source": "Bing", "visitors": 1},
    ]


def test_realtime_visitors_is_a_number(api: httpx.Client) -> None:
    r = api.get("/api/v1/stats/realtime/visitors", params={"site_id": APP_ID})
    assert r.status_code == 200 and r.json() == 0


@pytest.mark.parametrize(
    ("path", "params", "param"),
    [
        ("aggregate", {"period": "fortnight"}, "period"),
        ("aggregate", {"metrics": "visitors,hugs"}, "metrics"),
        ("aggregate", {"filters": "visit:shoe==9"}, "filters"),
        ("aggregate", {"date": "tomorrow"}, "date"),
        ("aggregate", {"compare": "last_year"}, "compare"),
        ("aggregate", {"date": "9999-12-31"}, "date"),  # the window's end overflows
        ("aggregate", {"period": "12mo", "date": "9999-06-01"}, "date"),
        ("aggregate", {"date": "0001-01-01"}, "date"),  # 7 days back overflows
        ("aggregate", {"period": "custom", "date": "2026-01-01,9999-12-31"}, "date"),
        ("timeseries", {"period": "day", "date": "9999-12-30"}, "date"),
        ("aggregate", {"date": "\u0662\u0660\u0662\u0666-01-10"}, "date"),
        ("aggregate", {"metrics": "conversion_rate"}, "metrics"),
        ("timeseries", {"interval": "fortnight"}, "interval"),
        ("breakdown", {}, "property"),
        ("breakdown", {"property": "visit:nope"}, "property"),
        ("breakdown", {"property": "event:page", "limit": "lots"}, "limit"),
        ("breakdown", {"property": "event:page", "limit": "5000"}, "limit"),
        ("breakdown", {"property": "event:page", "page": "0"}, "page"),
        ("aggregate", {"site_id": ""}, "site_id"),
        ("aggregate", {"site_id": "nowhere.example"}, "site_id"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(
    api: httpx.Client, path: str, params: dict[str, str], param: str
) -> None:
    r = api.get(f"/api/v1/stats/{path}", params={**BASE, **params})
    assert r.status_code == 400, r.text
    assert r.json()["error"].startswith(f"{param}:")


@pytest.mark.parametrize(
    "header", [None, "Bearer", "Bearer ff_nope_nope", "Basic abc", "revoked", "other"]
)
def test_without_a_valid_key_it_is_401(
    srv: LiveServer, keys: dict[str, str], header: str | None
) -> None:
    headers = {}
    if header in ("revoked", "other"):
        headers["Authorization"] = f"Bearer {keys[header]}"
    elif header:
        headers["Authorization"] = header
    r = httpx.get(f"{srv.url}/api/v1/stats/aggregate", params=BASE, headers=headers)
    assert r.status_code == 401
    assert "error" in r.json()


def test_a_key_for_one_app_reads_that_app(srv: LiveServer, keys: dict[str, str]) -> None:
    r = httpx.get(
        f"{srv.url}/api/v1/stats/aggregate",
        params={"site_id": OTHER_ID, "period": "day", "date": "2026-01-09", "metrics": "pageviews"},
        headers={"Authorization": f"Bearer {keys['other']}"},
    )
    assert r.json() == {"results": {"pageviews": {"value": 1}}}


def test_openapi_description_is_served(srv: LiveServer) -> None:
    doc = httpx.get(f"{srv.url}/api/v1/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    assert {
        "/api/v1/stats/aggregate",
        "/api/v1/stats/timeseries",
        "/api/v1/stats/breakdown",
        "/api/v1/stats/realtime/visitors",
        "/api/v2/query",
    } <= set(doc["paths"])
    v2 = doc["paths"]["/api/v2/query"]["post"]
    schema = v2["requestBody"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["site_id", "metrics", "date_range"]


def test_export_endpoint(api: httpx.Client) -> None:
    r = api.get(
        "/api/v1/export",
        params={"site_id": APP_ID, "format": "ndjson", "from": "2026-01-09", "to": "2026-01-09"},
    )
    assert r.status_code == 200
    lines = r.text.splitlines()
    assert '"format":"footfall-events"' in lines[0]
    # Berlin 01-09: s8, s1 ×3, s2, s6 ×2 (bots are raw events too), s3's first hit
    assert len(lines) - 1 == 8
    csv = api.get("/api/v1/export", params={"site_id": APP_ID, "format": "csv"})
    assert csv.headers["content-type"].startswith("text/csv") and csv.text.startswith(
        "hit_id,app_id,ts"
    )
    bad = api.get("/api/v1/export", params={"site_id": APP_ID, "format": "xlsx"})
    assert bad.status_code == 400 and bad.json()["error"].startswith("format:")
    for edge in ({"to": "9999-12-31"}, {"from": "0001-01-01"}):
        r = api.get("/api/v1/export", params={"site_id": APP_ID, **edge})
        assert r.status_code == 400 and r.json()["error"].startswith("from/to:"), edge


HOSTILE = [
    "x'); DROP TABLE events; --",
    '" OR 1=1 --',
    "props['a'] || (SELECT 1)",
    "%' UNION SELECT * FROM api_keys --",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_values_are_data_never_sql(srv: LiveServer, api: httpx.Client, text: str) -> None:
    rows_before = srv.store.count_events()
    for params in (
        {**BASE, "property": f"event:props:{text}"},  # a property key is bound, not spliced
        {**BASE, "property": "event:page", "filters": f"event:page=={text}"},
        {**BASE, "property": "event:page", "filters": f"event:page~{text}"},
        {**BASE, "property": "event:page", "filters": f"event:props:{text}=={text}"},
    ):
        r = api.get("/api/v1/stats/breakdown", params=params)
        assert r.status_code in (200, 400), (params, r.status_code, r.text)
        if r.status_code == 200:  # nothing matches the text: at most the "(none)" bucket
            values = [v for row in r.json()["results"] for k, v in row.items() if k != "visitors"]
            assert set(values) <= {"(none)"}, values
    bad_property = api.get("/api/v1/stats/breakdown", params={**BASE, "property": text})
    assert bad_property.status_code == 400 and "property" in bad_property.json()["error"]
    assert srv.store.count_events() == rows_before
    assert (
        api.get("/api/v1/stats/aggregate", params={**BASE, "metrics": "pageviews"}).status_code
        == 200
    )


def test_values_are_plausibles_labels_in_answers_and_filters(api: httpx.Client) -> None:
    def breakdown(prop: str, **extra: str) -> list[dict[str, object]]:
        r = api.get("/api/v1/stats/breakdown", params={**BASE, "property": prop, **extra})
        assert r.status_code == 200, r.text
        return list(r.json()["results"])

    assert breakdown("visit:device") == [
        {"device": "Desktop", "visitors": 4},
        {"device": "Mobile", "visitors": 2},
    ]
    assert [r["os"] for r in breakdown("visit:os")] == ["GNU/Linux", "Windows", "iOS"]  # ties
    assert breakdown("visit:utm_campaign") == [
        {"utm_campaign": "(not set)", "visitors": 6},
        {"utm_campaign": "winter", "visitors": 1},
    ]
    assert breakdown("visit:referrer", filters="visit:source==Direct / None") == [
        {"referrer": "Direct / None", "visitors": 2}
    ]
    assert breakdown("visit:os", filters="visit:os==GNU/Linux|Mac") == [
        {"os": "GNU/Linux", "visitors": 2}
    ]
    assert breakdown("visit:device", filters="visit:device~obi") == [
        {"device": "Mobile", "visitors": 2}
    ]


def test_time_on_page_per_page(api: httpx.Client) -> None:
    r = api.get(
        "/api/v1/stats/breakdown",
        params={**BASE, "property": "event:page", "metrics": "visitors,time_on_page", "limit": 2},
    )
    # "/": s1 went on to /blog/one after 60 s; /blog/one: 90 s (s1) and 40 s (s4)
    assert r.json()["results"] == [
        {"page": "/", "visitors": 3, "time_on_page": 60},
        {"page": "/blog/one", "visitors": 3, "time_on_page": 65},
    ]
    r = api.get(
        "/api/v1/stats/aggregate",
        params={**BASE, "metrics": "time_on_page", "filters": "event:page==/blog/**"},
    )
    # /blog/one: 90 s and 40 s before another page; /blog/two is never left for another page
    assert r.json() == {"results": {"time_on_page": {"value": 65}}}
    r = api.get("/api/v1/stats/aggregate", params={**BASE, "metrics": "time_on_page"})
    assert r.status_code == 400 and r.json()["error"].startswith("metrics:")
