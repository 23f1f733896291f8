"""POST /api/v2/query over real HTTP: Plausible's documented example requests (adapted to the
shared data set, tests/query/dataset.py), their answers' shapes, and errors that name the field.

Today is 2026-01-10 in the app's zone (Europe/Berlin); ``7d`` is the seven days before it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from footfall.clock import FrozenClock
from footfall.hit_tables import hits_to_table
from footfall.keys import KeyRing
from footfall.model import App
from tests.live import LiveServer, live_server
from tests.query.dataset import APP_ID, NOW_MS, OTHER_ID, hits

SITE = "site.example"


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    db = Path(tmp_path_factory.mktemp("v2")) / "v2.duckdb"
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
    return {"every": ring.create()[1], "other": ring.create(OTHER_ID, "other only")[1]}


@pytest.fixture(scope="module")
def api(srv: LiveServer, keys: dict[str, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=srv.url, headers={"Authorization": f"Bearer {keys['every']}"}) as c:
        yield c


def query(api: httpx.Client, **body: Any) -> dict[str, Any]:
    r = api.post("/api/v2/query", json={"site_id": SITE, **body})
    assert r.status_code == 200, r.text
    return dict(r.json())


def rows(answer: dict[str, Any]) -> list[tuple[list[Any], list[Any]]]:
    return [(r["dimensions"], r["metrics"]) for r in answer["results"]]


def test_simple_aggregate_with_plausibles_whole_answer(api: httpx.Client) -> None:
    # 01-03 to 01-09: s7, s8, s1, s2, s3's first hit (v5, v6, v1, v2); the bot left out
    assert query(api, metrics=["visitors", "events"], date_range="7d") == {
        "results": [{"metrics": [4, 7], "dimensions": []}],
        "meta": {},
        "query": {
            "site_id": SITE,
            "metrics": ["visitors", "events"],
            "date_range": ["2026-01-03T00:00:00+01:00", "2026-01-09T23:59:59+01:00"],
            "filters": [],
            "dimensions": [],
            "order_by": [["visitors", "desc"]],
            "include": {},
            "pagination": {"offset": 0, "limit": 10000},
        },
    }


@pytest.mark.parametrize(
    ("date_range", "echo", "visitors"),
    [
        (
            ["2026-01-09", "2026-01-10"],
            ["2026-01-09T00:00:00+01:00", "2026-01-10T23:59:59+01:00"],
            5,
        ),
        ("day", ["2026-01-10T00:00:00+01:00", "2026-01-10T23:59:59+01:00"], 3),
        ("month", ["2026-01-01T00:00:00+01:00", "2026-01-31T23:59:59+01:00"], 6),
        ("year", ["2026-01-01T00:00:00+01:00", "2026-12-31T23:59:59+01:00"], 6),
        ("all", ["2026-01-08T00:00:00+01:00", "2026-01-10T23:59:59+01:00"], 6),
        ("6mo", ["2025-07-01T00:00:00+02:00", "2025-12-31T23:59:59+01:00"], 0),
        # s1 and s2 only: from 10:00 to 11:00 on the 9th, both included to the second
        (
            ["2026-01-09T10:00:00+01:00", "2026-01-09T11:00:00+01:00"],
            ["2026-01-09T10:00:00+01:00", "2026-01-09T11:00:00+01:00"],
            2,
        ),
    ],
)
def test_date_ranges(api: httpx.Client, date_range: Any, echo: list[str], visitors: int) -> None:
    answer = query(api, metrics=["visitors"], date_range=date_range)
    assert answer["query"]["date_range"] == echo
    assert rows(answer) == [([], [visitors])]


def test_two_visit_dimensions_with_plausibles_labels(api: httpx.Client) -> None:
    answer = query(
        api,
        metrics=["visitors", "visits"],
        date_range="month",
        dimensions=["visit:device", "visit:os"],
        filters=[["is", "visit:device", ["Desktop"]]],
    )
    # Linux: s7, s2; Windows: s8, and v1's s1 and s3
    assert rows(answer) == [(["Desktop", "GNU/Linux"], [2, 2]), (["Desktop", "Windows"], [2, 3])]


def test_pagination_with_total_rows_and_not_set_labels(api: httpx.Client) -> None:
    answer = query(
        api,
        metrics=["visitors", "events", "pageviews"],
        date_range="month",
        dimensions=["visit:source", "visit:utm_campaign"],
        include={"total_rows": True},
        pagination={"limit": 2, "offset": 1},
    )
    # all: Direct (s7, s2) 2, Google/(not set) (s4, s5) 2, Bing 1, Google/winter (s1) 1, HN 1
    assert rows(answer) == [
        (["Google", "(not set)"], [2, 3, 3]),
        (["Bing", "(not set)"], [1, 1, 1]),
    ]
    assert answer["meta"] == {"total_rows": 5}
    assert answer["query"]["pagination"] == {"offset": 1, "limit": 2}
    assert answer["query"]["include"] == {"total_rows": True}


def test_timeseries_by_day_filtered_by_os_labels(api: httpx.Client) -> None:
    answer = query(
        api,
        metrics=["visitors", "events"],
        date_range="month",
        filters=[["is", "visit:os", ["GNU/Linux", "Mac"]]],
        dimensions=["time:day"],
    )
    assert rows(answer) == [(["2026-01-08"], [1, 1]), (["2026-01-09"], [1, 1])]  # s7, s2
    assert answer["query"]["order_by"] == [["time:day", "asc"], ["visitors", "desc"]]


def test_hourly_timeseries_with_time_labels(api: httpx.Client) -> None:
    answer = query(
        api,
        metrics=["visitors"],
        date_range="day",
        dimensions=["time:hour"],
        include={"time_labels": True},
    )
    # today: s3's signup at 00:10, s4 at 09:00, s5 at 10:00; only hours with hits
    assert rows(answer) == [
        (["2026-01-10 00:00:00"], [1]),
        (["2026-01-10 09:00:00"], [1]),
        (["2026-01-10 10:00:00"], [1]),
    ]
    assert answer["meta"]["time_labels"] == [f"2026-01-10 {h:02}:00:00" for h in range(24)]


def test_time_resolves_and_weeks_start_within_the_range(api: httpx.Client) -> None:
    answer = query(
        api,
        metrics=["visitors"],
        date_range=["2026-01-07", "2026-01-10"],
        dimensions=["time"],
        include={"time_labels": True},
    )
    assert answer["query"]["dimensions"] == ["time:day"]
    answer = query(
        api,
        metrics=["visitors"],
        date_range=["2026-01-07", "2026-01-20"],
        dimensions=["time:week"],
        include={"time_labels": True},
    )
    # the week of Monday 01-05 is labelled by the range's first day, as Plausible does
    assert rows(answer) == [(["2026-01-07"], [6])]
    assert answer["meta"]["time_labels"] == ["2026-01-07", "2026-01-12", "2026-01-19"]


def test_custom_property_by_day_with_order_by(api: httpx.Client) -> None:
    answer = query(
        api,
        metrics=["visitors"],
        date_range="month",
        dimensions=["time:day", "event:props:plan"],
        order_by=[["time:day", "asc"], ["event:props:plan", "desc"]],
    )
    assert rows(answer) == [
        (["2026-01-08", "(none)"], [1]),
        (["2026-01-09", "(none)"], [3]),
        (["2026-01-10", "pro"], [1]),
        (["2026-01-10", "(none)"], [2]),
    ]


@pytest.mark.parametrize(
    ("filters", "visitors"),
    [
        ([["contains", "event:page", ["BLOG"], {"case_sensitive": False}]], 4),
        ([["contains", "event:page", ["BLOG"]]], 0),
        ([["contains", "event:page", ["/docs", "/pricing"]]], 2),  # v3, v1
        ([["is", "visit:referrer", ["google.com"]]], 3),
        ([["is", "visit:source", ["Direct / None"]]], 2),
        ([["is_not", "visit:browser", [""]]], 6),
        ([["matches", "event:page", ["^/blog/(one|two)$"]]], 4),
        ([["matches_not", "event:page", ["^/blog/"]]], 4),  # a hit elsewhere: not v2, v6
        ([["not", ["is", "visit:country", ["DE"]]]], 5),
        ([["or", [["is", "visit:country", ["DE"]], ["is", "visit:country", ["FR"]]]]], 2),
        ([["and", [["is", "visit:device", ["Mobile"]], ["is", "event:page", ["/"]]]]], 1),
        ([["contains", "visit:device", ["obi"]]], 2),  # Mobile's label, not footfall's value
        ([["is", "visit:country", ["US"]], ["is", "visit:os", ["iOS"]]], 2),
    ],
)
def test_filters(api: httpx.Client, filters: list[Any], visitors: int) -> None:
    answer = query(api, metrics=["visitors"], date_range="month", filters=filters)
    assert rows(answer) == [([], [visitors])]
    assert answer["query"]["filters"] == filters


def test_referrers_without_scheme_and_www(api: httpx.Client) -> None:
    answer = query(api, metrics=["visitors"], date_range="month", dimensions=["visit:referrer"])
    assert rows(answer) == [
        (["google.com"], [3]),
        (["Direct / None"], [2]),
        (["bing.com"], [1]),
        (["news.ycombinator.com"], [1]),
    ]


def test_pages_with_time_on_page_and_percentage(api: httpx.Client) -> None:
    answer = query(
        api,
        metrics=["visitors", "pageviews", "time_on_page", "percentage"],
        date_range="month",
        dimensions=["event:page"],
    )
    # time on page: / 60 s (s1 to /blog/one); /blog/one (90 + 40) / 2; no next page: null
    assert rows(answer) == [
        (["/"], [3, 3, 60, 50.0]),
        (["/blog/one"], [3, 3, 65, 50.0]),
        (["/blog/two"], [2, 2, None, 33.3]),
        (["/docs/a/b"], [1, 1, None, 16.7]),
        (["/pricing"], [1, 1, None, 16.7]),  # 20 minutes, but never to another page
    ]
    by_time = query(
        api,
        metrics=["time_on_page"],
        date_range="month",
        dimensions=["event:page"],
        order_by=[["time_on_page", "desc"]],
    )
    assert rows(by_time)[:2] == [(["/blog/one"], [65]), (["/"], [60])]
    total = query(
        api,
        metrics=["visitors", "time_on_page"],
        date_range="month",
        filters=[["is", "event:page", ["/blog/one"]]],
    )
    assert rows(total) == [([], [3, 65])]


def test_conversion_rate_of_an_event_filter(api: httpx.Client) -> None:
    answer = query(
        api,
        metrics=["visitors", "conversion_rate"],
        date_range="month",
        filters=[["is", "event:name", ["signup"]]],
    )
    assert rows(answer) == [([], [1, 16.67])]  # v1 of the month's six visitors


def test_session_metrics_by_source(api: httpx.Client) -> None:
    answer = query(
        api,
        metrics=["visits", "bounce_rate", "visit_duration"],
        date_range="month",
        dimensions=["visit:source"],
        order_by=[["visit:source", "asc"]],
    )
    # Direct: s7, s2 (bounces); Google: s1 (150 s), s4 (40 s), s5 (bounce)
    assert rows(answer) == [
        (["Direct / None"], [2, 100, 0]),
        (["Bing"], [1, 100, 0]),
        (["Google"], [3, 33, 63]),
        (["Hacker News"], [1, 0, 1200]),
    ]


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"metrics": ["visitors", "hugs"]}, '#/metrics/1: Invalid metric "hugs"'),
        ({"metrics": []}, "#/metrics: Expected a minimum of 1 items but got 0."),
        ({"metrics": ["scroll_depth"]}, '#/metrics/0: Metric "scroll_depth" is not supported'),
        ({"date_range": "fortnight"}, '#/date_range: Invalid date range "fortnight"'),
        ({"date_range": ["2026-01-10"]}, '#/date_range: Invalid date range ["2026-01-10"]'),
        ({"date_range": ["2026-01-10", "2026-01-01"]}, "#/date_range: Invalid date range"),
        ({"date_range": None}, "#/date_range: Type mismatch. Expected String or Array"),
        ({"site_id": 7}, "#/site_id: Type mismatch. Expected String but got Integer."),
        ({"colour": "blue"}, "#/colour: Schema does not allow additional properties."),
        ({"dimensions": ["visit:shoe"]}, '#/dimensions/0: Invalid dimension "visit:shoe"'),
        ({"dimensions": ["visit:channel"]}, '#/dimensions/0: "visit:channel" is not supported'),
        ({"dimensions": ["time:day", "time:week"]}, "#/dimensions/1: Only one time dimension"),
        (
            {"filters": [["is", "visit:country", ["Germany"]]]},
            "#/filters/0: Invalid visit:country filter, visit:country needs to be a valid"
            " 2-letter country code.",
        ),
        (
            {"filters": [["is", "visit:shoe", ["9"]]]},
            '#/filters/0: Invalid filter dimension "visit:shoe"',
        ),
        ({"filters": [["is", "event:page", []]]}, "#/filters/0: Invalid filter"),
        ({"filters": [["matches", "event:page", ["("]]]}, "#/filters/0: bad regular expression"),
        (
            {"filters": [["has_done", ["is", "event:page", ["/"]]]]},
            "#/filters/0: Unsupported filter",
        ),
        (
            {"filters": [["or", [["is", "visit:country", ["DE"]], ["is", "event:page", ["/"]]]]]},
            "#/filters/0: Unsupported filter",
        ),
        (
            {"order_by": [["visits", "desc"]]},
            '#/order_by/0: Invalid order_by entry ["visits", "desc"]. Entry is not a queried'
            " metric or dimension.",
        ),
        (
            {"order_by": [["visitors", "up"]]},
            '#/order_by/0: Invalid value in order_by ["visitors", "up"]',
        ),
        (
            {"include": {"time_labels": True}},
            "#/include/time_labels: Invalid include.time_labels: requires a time dimension.",
        ),
        ({"include": {"comparisons": {}}}, "#/include/comparisons: Schema does not allow"),
        ({"pagination": {"limit": 0}}, "#/pagination/limit:"),
        (
            {"metrics": ["bounce_rate"], "dimensions": ["event:name"]},
            "#/metrics: Session metric(s) `bounce_rate` cannot be queried along with event"
            " dimension(s) `event:name`",
        ),
        (
            {"metrics": ["pageviews"], "dimensions": ["visit:entry_page"]},
            "#/metrics: Event metric(s) `pageviews` cannot be queried along with session"
            " dimension(s) `visit:entry_page`",
        ),
        (
            {"metrics": ["time_on_page"]},
            "#/metrics: Metric `time_on_page` can only be queried with event:page filters or"
            " dimensions.",
        ),
        ({"metrics": ["percentage"]}, "#/metrics: Metric `percentage` can only be queried with"),
        ({"metrics": ["conversion_rate"]}, "#/metrics: Metric `conversion_rate` can only be"),
    ],
)
def test_bad_queries_are_400_naming_the_field(
    api: httpx.Client, change: dict[str, Any], error: str
) -> None:
    body = {"site_id": SITE, "metrics": ["visitors"], "date_range": "7d", **change}
    r = api.post("/api/v2/query", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["error"].startswith(error), r.json()


def test_missing_fields_and_bodies_that_are_not_json(api: httpx.Client) -> None:
    r = api.post("/api/v2/query", json={"site_id": SITE, "metrics": ["visitors"]})
    assert r.json() == {"error": "#: Required property date_range was not present."}
    r = api.post("/api/v2/query", content=b"{not json")
    assert r.status_code == 400 and r.json()["error"].startswith("#: the body is not JSON")
    r = api.post("/api/v2/query", content=b"x" * 70_000)
    assert r.status_code == 413
    assert api.get("/api/v2/query").status_code == 405


def test_keys_and_sites(srv: LiveServer, keys: dict[str, str]) -> None:
    body = {"site_id": SITE, "metrics": ["visitors"], "date_range": "day"}
    assert httpx.post(f"{srv.url}/api/v2/query", json=body).status_code == 401
    other = {"Authorization": f"Bearer {keys['other']}"}
    r = httpx.post(f"{srv.url}/api/v2/query", json=body, headers=other)
    assert r.status_code == 401 and "error" in r.json()
    r = httpx.post(
        f"{srv.url}/api/v2/query", json={**body, "site_id": "other.example"}, headers=other
    )
    assert r.status_code == 200 and r.json()["results"] == [{"metrics": [0], "dimensions": []}]
    every = {"Authorization": f"Bearer {keys['every']}"}
    r = httpx.post(
        f"{srv.url}/api/v2/query", json={**body, "site_id": "nowhere.example"}, headers=every
    )
    assert r.status_code == 400 and r.json()["error"].startswith("site_id:")
    r = httpx.post(f"{srv.url}/api/v2/query", json={**body, "site_id": APP_ID}, headers=every)
    assert r.status_code == 200


# Plausible's documented example queries (docs: stats-api.md), as they are but for the site
PLAUSIBLE_EXAMPLES: list[tuple[dict[str, Any], str | None]] = [
    ({"metrics": ["visitors", "events"], "date_range": "7d"}, None),
    ({"metrics": ["visitors"], "date_range": ["2024-08-01", "2024-08-15"]}, None),
    (
        {
            "metrics": ["visitors", "pageviews", "bounce_rate"],
            "date_range": "7d",
            "filters": [["is_not", "visit:country_name", [""]]],
            "dimensions": ["visit:country_name", "visit:city_name"],
        },
        '#/filters/0: "visit:country_name" is not supported',
    ),
    (
        {
            "metrics": ["visitors", "events", "pageviews"],
            "date_range": "7d",
            "dimensions": ["visit:utm_medium", "visit:utm_source"],
        },
        None,
    ),
    (
        {
            "metrics": ["visitors"],
            "date_range": "7d",
            "filters": [
                ["contains", "event:page", ["/docs", "/pricing"]],
                [
                    "or",
                    [
                        ["not", ["is", "visit:utm_campaign", ["Referral"]]],
                        ["is", "visit:country_name", ["Estonia", "United States of America"]],
                    ],
                ],
            ],
        },
        '#/filters/1/1/1: "visit:country_name" is not supported',
    ),
    (
        {
            "metrics": ["visitors"],
            "date_range": "7d",
            "filters": [["contains", "event:page", ["blog"], {"case_sensitive": False}]],
        },
        None,
    ),
    (
        {
            "metrics": ["visitors", "events"],
            "filters": [["is", "segment", [2]]],
            "date_range": "7d",
        },
        '#/filters/0: "segment" is not supported',
    ),
    (
        {
            "metrics": ["visitors", "events"],
            "date_range": "7d",
            "filters": [["is", "visit:os", ["GNU/Linux", "Mac"]]],
            "dimensions": ["time:day"],
        },
        None,
    ),
    (
        {
            "metrics": ["visitors"],
            "date_range": "day",
            "dimensions": ["time:hour"],
            "include": {"time_labels": True},
        },
        None,
    ),
    (
        {
            "metrics": ["visitors"],
            "date_range": "7d",
            "dimensions": ["time:day", "event:props:is_customer"],
            "order_by": [["time:day", "asc"], ["event:props:is_customer", "desc"]],
        },
        None,
    ),
    (
        {
            "metrics": ["visitors", "events", "pageviews"],
            "date_range": "7d",
            "dimensions": ["visit:utm_medium", "visit:utm_source"],
            "include": {"total_rows": True},
            "pagination": {"limit": 3, "offset": 1},
        },
        None,
    ),
    (
        {
            "metrics": ["visitors"],
            "date_range": "all",
            "dimensions": ["visit:source"],
            "include": {"imports": True},
        },
        None,
    ),
    (
        {"metrics": ["total_revenue"], "date_range": "all", "dimensions": ["event:goal"]},
        '#/metrics/0: Metric "total_revenue" is not supported',
    ),
    (
        {
            "metrics": ["visitors"],
            "date_range": "all",
            "filters": [
                ["is", "event:goal", ["Signup"]],
                ["has_done", ["is", "event:page", ["/pricing"]]],
            ],
        },
        "#/filters/1: Unsupported filter",  # has_done; the goal filter is understood
    ),
]


@pytest.mark.parametrize(("body", "refused"), PLAUSIBLE_EXAMPLES)
def test_plausibles_documented_examples(
    api: httpx.Client, body: dict[str, Any], refused: str | None
) -> None:
    r = api.post("/api/v2/query", json={"site_id": SITE, **body})
    if refused is not None:
        assert r.status_code == 400 and r.json()["error"].startswith(refused), r.text
        return
    assert r.status_code == 200, r.text
    answer = r.json()
    assert set(answer) == {"results", "meta", "query"}
    assert set(answer["query"]) == {
        "site_id",
        "metrics",
        "date_range",
        "filters",
        "dimensions",
        "order_by",
        "include",
        "pagination",
    }
    for row in answer["results"]:
        assert set(row) == {"metrics", "dimensions"}
        assert len(row["metrics"]) == len(body["metrics"])
        assert len(row["dimensions"]) == len(body.get("dimensions", []))
    wanted_meta = {k for k, v in body.get("include", {}).items() if v}
    assert set(answer["meta"]) == {
        {"imports": "imports_included", "time_labels": "time_labels"}.get(k, k) for k in wanted_meta
    } | ({"imports_skip_reason"} if "imports" in wanted_meta else set())
