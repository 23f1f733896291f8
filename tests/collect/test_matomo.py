"""/matomo.php and /piwik.php with Matomo's tracking API: a Matomo tracker or client pointed at
footfall keeps working, each request stored for the app its ``idsite`` names (an alias or the
app's UUID)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlencode

import httpx
import msgspec
import pytest

from footfall.collect.gif import TRANSPARENT_GIF
from footfall.collect.mp import visitor_key
from footfall.model import App
from tests.live import LiveServer, live_server

BROWSER = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)
PATHS = ["/matomo.php", "/piwik.php"]
NOW_S = 1_767_225_600  # the FrozenClock's start, 2026-01-01T00:00:00Z


@pytest.fixture
def site3(server: LiveServer, app: App) -> App:
    """The app, known to Matomo clients as site 3."""
    app = msgspec.structs.replace(app, aliases=["3"])
    server.runtime.apps.save(app)
    return app


def track(http: httpx.Client, path: str = "/matomo.php", **params: object) -> httpx.Response:
    return http.get(path, params=params, headers={"User-Agent": BROWSER})


def assert_gif(resp: httpx.Response, ignored: str | None = None) -> None:
    assert resp.status_code == 200
    assert resp.content == TRANSPARENT_GIF
    assert resp.headers["content-type"] == "image/gif"
    assert resp.headers.get("x-footfall-ignored") == ignored


PAGE = (
    "SELECT app_id, event, channel, url, hostname, path, title, referrer, language, screen, props,"
    " user_agent, ip FROM events"
)


@pytest.mark.parametrize("path", PATHS)
def test_a_pageview_by_get(server: LiveServer, site3: App, http: httpx.Client, path: str) -> None:
    resp = track(
        http,
        path,
        idsite=3,
        rec=1,
        url="https://site.example/blog/post?utm_source=news",
        action_name="A post",
        urlref="https://search.example/?q=footfall",
        res="1920x1080",
        lang="de-CH",
        _id="0123456789abcdef",
        rand=12345,
    )
    assert_gif(resp)
    assert server.rows(PAGE) == [
        (
            site3.id,
            "pageview",
            "matomo",
            "https://site.example/blog/post?utm_source=news",
            "site.example",
            "/blog/post",
            "A post",
            "https://search.example/?q=footfall",
            "de-CH",
            "1920x1080",
            None,
            BROWSER,
            "127.0.0.0",
        )
    ]
    assert server.rows("SELECT utm_source, identity FROM events") == [("news", "cookieless")]


@pytest.mark.parametrize("path", PATHS)
def test_a_pageview_by_post_form_and_the_query_string_wins(
    server: LiveServer, site3: App, http: httpx.Client, path: str
) -> None:
    body = urlencode({"idsite": 3, "rec": 1, "url": "https://site.example/a", "action_name": "A"})
    resp = http.post(
        path + "?action_name=From+the+query",
        content=body,
        headers={
            "User-Agent": BROWSER,
            "Content-Type": "application/x-www-form-urlencoded; charset=UTF-8",
            "Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5",
        },
    )
    assert_gif(resp)
    assert server.rows("SELECT event, path, title, language FROM events") == [
        ("pageview", "/a", "From the query", "fr-FR")  # no lang: Accept-Language's first tag
    ]


def test_the_app_uuid_names_the_app_and_ua_stands_in(
    server: LiveServer, app: App, http: httpx.Client
) -> None:
    resp = track(http, idsite=app.id, rec=1, url="https://site.example/", ua="Lynx/2.9")
    assert_gif(resp)
    assert server.rows("SELECT app_id, user_agent FROM events") == [(app.id, "Lynx/2.9")]


def test_an_event(server: LiveServer, site3: App, http: httpx.Client) -> None:
    resp = track(
        http,
        idsite=3,
        rec=1,
        url="https://site.example/videos",
        e_c="Videos",
        e_a="Play",
        e_n="Intro",
        e_v="12.5",
    )
    assert_gif(resp)
    assert server.rows("SELECT event, path, props FROM events") == [
        (
            "Play",
            "/videos",
            {"category": "Videos", "action": "Play", "name": "Intro", "value": "12.5"},
        )
    ]


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"e_a": "Play"}, "matomo-missing-event-category"),
        ({"e_c": "Videos", "e_n": "Intro"}, "matomo-missing-event-action"),
        ({"e_c": "Videos", "e_a": "Play", "e_v": "lots"}, "matomo-invalid-event-value"),
        ({"e_c": "Videos", "e_a": "Play", "e_v": "1_0"}, "matomo-invalid-event-value"),
        ({"e_c": "Videos", "e_a": "Play", "e_v": "\uff11\uff12"}, "matomo-invalid-event-value"),
        ({"e_c": "Videos", "e_a": "Play", "e_v": "nan"}, "matomo-invalid-event-value"),
        ({"rec": "\u00b2"}, "matomo-no-rec"),
        ({"res": "huge"}, "invalid-screensize"),
        ({"url": "not a url"}, "invalid-url"),
    ],
)
def test_a_request_with_a_bad_value_is_not_stored(
    server: LiveServer, site3: App, http: httpx.Client, params: dict[str, str], reason: str
) -> None:
    resp = track(http, **{"idsite": 3, "rec": 1, "url": "https://site.example/", **params})
    assert_gif(resp, reason)
    assert server.count() == 0


def test_an_outlink_and_a_download(server: LiveServer, site3: App, http: httpx.Client) -> None:
    page = "https://site.example/docs"
    assert_gif(track(http, idsite=3, rec=1, url=page, link="https://other.example/x"))
    assert_gif(track(http, idsite=3, rec=1, url=page, download="https://site.example/f.pdf"))
    rows = server.rows("SELECT event, path, props FROM events ORDER BY event")
    assert rows == [
        ("download", "/docs", {"url": "https://site.example/f.pdf"}),
        ("outbound", "/docs", {"url": "https://other.example/x"}),
    ]


def test_a_site_search(server: LiveServer, site3: App, http: httpx.Client) -> None:
    resp = track(
        http,
        idsite=3,
        rec=1,
        url="https://site.example/search?q=boots",
        search="boots",
        search_cat="Shoes",
        search_count=7,
    )
    assert_gif(resp)
    assert server.rows("SELECT event, path, props FROM events") == [
        ("search", "/search", {"query": "boots", "category": "Shoes", "count": "7"})
    ]


def test_a_ping_and_a_request_without_rec_store_nothing(
    server: LiveServer, site3: App, http: httpx.Client
) -> None:
    counters = server.runtime.ingest.counters.ignored
    before = (counters["matomo-ping"], counters["matomo-no-rec"])
    assert_gif(track(http, idsite=3, rec=1, ping=1, url="https://site.example/"), "matomo-ping")
    assert_gif(track(http, idsite=3, url="https://site.example/"), "matomo-no-rec")
    assert_gif(track(http, idsite=3, rec=0, url="https://site.example/"), "matomo-no-rec")
    assert_gif(track(http, idsite=3, rec="\u00b2", url="https://site.example/"), "matomo-no-rec")
    assert (counters["matomo-ping"], counters["matomo-no-rec"]) == (before[0] + 1, before[1] + 3)
    assert server.count() == 0


def test_an_unknown_or_missing_site_still_gets_the_gif_and_is_counted(
    server: LiveServer, site3: App, http: httpx.Client
) -> None:
    counters = server.runtime.ingest.counters.ignored
    before = (counters["unknown-app"], counters["missing-app"])
    assert_gif(track(http, idsite=4, rec=1, url="https://site.example/"), "unknown-app")
    assert_gif(track(http, rec=1, url="https://site.example/"), "missing-app")
    assert_gif(http.get("/piwik.php"), "missing-app")
    assert (counters["unknown-app"], counters["missing-app"]) == (before[0] + 1, before[1] + 2)
    assert server.count() == 0


def test_send_image_0_is_answered_204(server: LiveServer, site3: App, http: httpx.Client) -> None:
    resp = track(http, idsite=3, rec=1, url="https://site.example/", send_image=0)
    assert (resp.status_code, resp.content) == (204, b"")
    resp = track(http, idsite=4, rec=1, url="https://site.example/", send_image=0)
    assert (resp.status_code, resp.headers["x-footfall-ignored"]) == (204, "unknown-app")
    assert server.count() == 1


def test_cip_and_cdt_count_with_the_apps_secret_as_token_auth(
    server: LiveServer, site3: App, http: httpx.Client
) -> None:
    page = {"idsite": 3, "rec": 1, "cip": "203.0.113.9"}
    token = site3.api_secret
    assert_gif(track(http, **page, url="https://site.example/1", token_auth=token, cdt=NOW_S - 600))
    assert_gif(
        track(
            http,
            **page,
            url="https://site.example/2",
            token_auth=token,
            cdt="2025-12-31 23:00:00",  # UTC: an hour before now
        )
    )
    assert_gif(track(http, **page, url="https://site.example/3", cdt=NOW_S - 600))
    assert_gif(track(http, **page, url="https://site.example/4", token_auth="wrong", cdt=NOW_S))
    rows = server.rows("SELECT path, ip, epoch_ms(ts) FROM events ORDER BY path")
    now = NOW_S * 1000
    assert rows == [
        ("/1", "203.0.113.0", now - 600_000),  # truncated as every address is
        ("/2", "203.0.113.0", now - 3_600_000),
        ("/3", "127.0.0.0", now),  # no token: cip and cdt are not read
        ("/4", "127.0.0.0", now),
    ]


@pytest.mark.parametrize(
    ("cdt", "reason"),
    [
        (NOW_S - 5 * 3600, "matomo-cdt-too-old"),
        (NOW_S + 3600, "matomo-invalid-cdt"),
        ("yesterday", "matomo-invalid-cdt"),
    ],
)
def test_a_cdt_out_of_bounds_is_refused(
    server: LiveServer, site3: App, http: httpx.Client, cdt: object, reason: str
) -> None:
    params = {"idsite": 3, "rec": 1, "url": "https://site.example/", "cdt": cdt}
    assert_gif(track(http, **params, token_auth=site3.api_secret), reason)
    assert server.count() == 0


def test_an_app_that_requires_its_secret(
    server: LiveServer, site3: App, http: httpx.Client
) -> None:
    server.runtime.apps.save(msgspec.structs.replace(site3, require_api_key=True))
    params = {"idsite": 3, "rec": 1, "url": "https://site.example/"}
    assert_gif(track(http, **params), "invalid-api-secret")
    assert_gif(track(http, **params, token_auth=site3.api_secret))
    assert server.count() == 1


def test_id_is_the_visitor_in_first_party_mode(server: LiveServer, http: httpx.Client) -> None:
    app = server.create_app(identity="first-party")
    for path in ("/a", "/b"):
        assert_gif(
            track(http, idsite=app.id, rec=1, url=f"https://site.example{path}", _id="ab" * 8)
        )
    assert_gif(track(http, idsite=app.id, rec=1, url="https://site.example/c", uid="ada@example"))
    rows = server.rows("SELECT path, visitor_id, session_id, identity FROM events ORDER BY path")
    assert [(r[0], r[1], r[3]) for r in rows] == [
        ("/a", visitor_key(app, "ab" * 8), "client-id"),
        ("/b", visitor_key(app, "ab" * 8), "client-id"),
        ("/c", visitor_key(app, "ada@example"), "client-id"),
    ]
    assert rows[0][2] == rows[1][2] != rows[2][2]  # one session per visitor


def bulk(http: httpx.Client, body: object, path: str = "/matomo.php") -> httpx.Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return http.post(path, content=data, headers={"User-Agent": BROWSER})


def test_a_bulk_request_with_valid_and_invalid_requests(
    server: LiveServer, site3: App, http: httpx.Client
) -> None:
    body = {
        "requests": [
            "?idsite=3&rec=1&url=https%3A%2F%2Fsite.example%2Fa&action_name=A&cip=203.0.113.9",
            "https://stats.example/matomo.php?idsite=3&rec=1&url=https://site.example/b&e_c=C&e_a=Go",
            {"idsite": 3, "rec": True, "url": "https://site.example/c", "cdt": NOW_S - 60},
            "?idsite=99&rec=1&url=https://site.example/d",
            "?idsite=3&rec=1&url=https://site.example/e&e_a=NoCategory",
            "?idsite=3&rec=1&ping=1",
        ],
        "token_auth": site3.api_secret,
    }
    resp = bulk(http, body)
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    assert resp.json() == {"status": "success", "tracked": 3, "invalid": 2}
    assert resp.headers["x-footfall-ignored"] == (
        "unknown-app, matomo-missing-event-category, matomo-ping"
    )
    rows = server.rows("SELECT path, event, ip, epoch_ms(ts) FROM events ORDER BY path")
    assert rows == [
        ("/a", "pageview", "203.0.113.0", NOW_S * 1000),  # the bulk's token_auth lets cip count
        ("/b", "Go", "127.0.0.0", NOW_S * 1000),
        ("/c", "pageview", "127.0.0.0", (NOW_S - 60) * 1000),
    ]


def test_a_bulk_request_with_send_image_0_is_204(
    server: LiveServer, site3: App, http: httpx.Client
) -> None:
    body = {"requests": ["?idsite=3&rec=1&url=https://site.example/"], "send_image": 0}
    resp = bulk(http, body, "/piwik.php")
    assert (resp.status_code, resp.content) == (204, b"")
    assert server.count() == 1


def test_a_bulk_request_too_large_is_413(
    server: LiveServer, site3: App, http: httpx.Client
) -> None:
    one = "?idsite=3&rec=1&url=https://site.example/"
    resp = bulk(http, {"requests": [one] * 101})
    assert resp.status_code == 413 and "100 requests" in resp.json()["error"]
    resp = bulk(http, {"requests": [one + "&x=" + "y" * 70_000]})
    assert resp.status_code == 413 and "bytes" in resp.json()["error"]
    assert server.count() == 0


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b'{"requests": ["?idsite=3&rec=1"', "not a JSON object"),
        (b'{"token_auth": "x"}', "missing field: requests"),
        (b'{"requests": "?idsite=3&rec=1"}', "$.requests"),
        (b'{"requests": [["?idsite=3"]]}', "$.requests[0]"),
    ],
)
def test_a_bad_bulk_body_is_400(
    server: LiveServer, site3: App, http: httpx.Client, body: bytes, fragment: str
) -> None:
    resp = bulk(http, body)
    assert resp.status_code == 400
    assert fragment in resp.json()["error"]
    assert server.count() == 0


def test_a_single_request_over_the_limit_is_too_large(
    server: LiveServer, site3: App, http: httpx.Client
) -> None:
    body = urlencode({"idsite": 3, "rec": 1, "url": "https://site.example/", "x": "y" * 70_000})
    assert_gif(http.post("/matomo.php", content=body), "too-large")
    assert server.count() == 0


def test_a_full_spool(tmp_path: Path) -> None:
    """Single requests keep the GIF and name the reason, as the pixel does; a bulk request is 503."""
    with live_server(tmp_path / "full.duckdb", spool_max="4KB") as server:
        app = server.create_app()
        page = {"idsite": app.id, "rec": 1, "url": "https://site.example/"}
        with httpx.Client(base_url=server.url) as http:
            for _ in range(1000):  # 4 KB of spool holds a few hits
                if (resp := track(http, **page)).headers.get("x-footfall-ignored"):
                    break
            assert_gif(resp, "spool-full")
            resp = bulk(http, {"requests": ["?" + urlencode(page)]})
            assert resp.status_code == 503
            assert resp.headers["retry-after"] == "5"
            assert resp.json()["reason"] == "spool-full"


def test_cors_for_the_javascript_tracker(server: LiveServer, http: httpx.Client) -> None:
    resp = http.options("/matomo.php", headers={"Origin": "https://site.example"})
    assert resp.status_code == 204
    assert resp.headers["access-control-allow-origin"] == "https://site.example"
    assert "POST" in resp.headers["access-control-allow-methods"]


def test_the_piwikapi_client(server: LiveServer, site3: App) -> None:
    """``piwikapi`` from PyPI (Matomo's old Python tracking client), used as its docs show: a
    Django-like request, the site id, the API URL and the app's secret as the token."""
    tracking = pytest.importorskip("piwikapi.tracking")
    request = SimpleNamespace(
        META={
            "HTTP_USER_AGENT": BROWSER,
            "HTTP_REFERER": "https://search.example/?q=x",
            "HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.8",
            "SERVER_NAME": "site.example",
            "PATH_INFO": "/shop",
            "QUERY_STRING": "ref=mail",
            "HTTPS": True,
        },
        COOKIES=False,
        is_secure=lambda: True,
    )
    pt = tracking.PiwikTracker(3, request)
    pt.set_api_url(server.url + "/piwik.php")
    pt.set_ip("198.51.100.23")
    pt.set_token_auth(site3.api_secret)
    pt.set_resolution(1280, 800)
    answers = [
        pt.do_track_page_view("The shop"),
        pt.do_track_action("https://cdn.example/price-list.pdf", "download"),
        pt.do_track_action("https://partner.example/", "link"),
    ]
    assert all("GIF89a" in a for a in answers)  # the client returns str(body)
    rows = server.rows(
        "SELECT event, url, path, title, referrer, language, screen, props, ip, user_agent"
        " FROM events ORDER BY event"
    )
    page = ("https://site.example/shop?ref=mail", "/shop")
    common = ("https://search.example/?q=x", "en-GB", "1280x800")
    assert rows == [
        (
            "download",
            *page,
            None,
            *common,
            {"url": "https://cdn.example/price-list.pdf"},
            "198.51.100.0",
            BROWSER,
        ),
        (
            "outbound",
            *page,
            None,
            *common,
            {"url": "https://partner.example/"},
            "198.51.100.0",
            BROWSER,
        ),
        ("pageview", *page, "The shop", *common, None, "198.51.100.0", BROWSER),
    ]


def test_an_order_a_cart_update_and_a_goal_conversion(
    server: LiveServer, site3: App, http: httpx.Client
) -> None:
    items = json.dumps([["SKU1", "Shirt", "Clothes", 19.5, 2], ["SKU2", "Mug", "", 8, 1]])
    base = {"idsite": 3, "rec": 1, "url": "https://site.example/checkout"}
    answers = [
        track(http, **base, idgoal=0, ec_id="A-17", revenue="55.5", ec_st="47", ec_tx="7.5",
              ec_sh="1", ec_items=items),
        track(http, **base, idgoal=0, revenue="47", ec_items=items),
        track(http, **base, idgoal=4, revenue="10"),
        track(http, **base, idgoal=5),
    ]  # fmt: skip
    for resp in answers:
        assert_gif(resp)
    kept_items = (
        '[{"item_id":"SKU1","item_name":"Shirt","quantity":2,"price":19.5},'
        '{"item_id":"SKU2","item_name":"Mug","quantity":1,"price":8}]'
    )
    assert server.rows("SELECT event, props FROM events ORDER BY event, props['goal_id']") == [
        ("cart_update", {"revenue_amount": "47", "item_count": "2", "items": kept_items}),
        ("goal", {"goal_id": "4", "revenue_amount": "10"}),
        ("goal", {"goal_id": "5"}),
        (
            "purchase",
            {
                "order_id": "A-17",
                "revenue_amount": "55.5",
                "subtotal": "47",
                "tax": "7.5",
                "shipping": "1",
                "item_count": "2",
                "items": kept_items,
            },
        ),
    ]


def test_custom_dimensions_variables_and_product_views_become_props(
    server: LiveServer, site3: App, http: httpx.Client
) -> None:
    resp = track(
        http,
        idsite=3,
        rec=1,
        url="https://site.example/p/shirt",
        dimension1="member",
        dimension12="blue",
        dimension1000="not a dimension id",
        _cvar=json.dumps({"1": ["plan", "pro"]}),
        cvar=json.dumps({"1": ["section", "shop"]}),
        _pkn="Shirt",
        _pks="SKU1",
        _pkc="Clothes",
        _pkp="19.5",
    )
    assert_gif(resp)
    assert server.rows("SELECT event, props FROM events") == [
        (
            "pageview",
            {
                "product_name": "Shirt",
                "product_sku": "SKU1",
                "product_category": "Clothes",
                "product_price": "19.5",
                "dimension1": "member",
                "dimension12": "blue",
                "plan": "pro",
                "section": "shop",
            },
        )
    ]


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"idgoal": "-1"}, "matomo-invalid-idgoal"),
        ({"idgoal": "x"}, "matomo-invalid-idgoal"),
        ({"idgoal": "0", "ec_id": "A", "revenue": "lots"}, "matomo-invalid-revenue"),
        ({"idgoal": "0", "ec_id": "A", "ec_tx": "nan"}, "matomo-invalid-ec-tx"),
        ({"idgoal": "0", "ec_items": "[not json"}, "matomo-invalid-items"),
        ({"idgoal": "0", "ec_items": '{"sku": 1}'}, "matomo-invalid-items"),
        ({"idgoal": "0", "ec_items": '[["a","b","c",1,2,3]]'}, "matomo-invalid-items"),
        ({"_cvar": "[1,2]"}, "matomo-invalid-cvar"),
        ({"cvar": '{"1": ["only a name"]}'}, "matomo-invalid-cvar"),
    ],
)
def test_bad_goal_and_commerce_values_are_refused_with_their_reason(
    server: LiveServer, site3: App, http: httpx.Client, params: dict[str, str], reason: str
) -> None:
    resp = track(http, **{"idsite": 3, "rec": 1, "url": "https://site.example/", **params})
    assert_gif(resp, reason)
    assert server.count() == 0


def test_the_piwikapi_ecommerce_client(server: LiveServer, site3: App) -> None:
    """``piwikapi``'s e-commerce tracker as its docs show: items, then the order; a goal; a custom
    variable."""
    tracking = pytest.importorskip("piwikapi.tracking")
    request = SimpleNamespace(
        META={
            "HTTP_USER_AGENT": BROWSER,
            "SERVER_NAME": "site.example",
            "PATH_INFO": "/checkout",
            "QUERY_STRING": "",
            "HTTPS": True,
        },
        COOKIES=False,
        is_secure=lambda: True,
    )
    pt = tracking.PiwikTrackerEcommerce(3, request)
    pt.set_api_url(server.url + "/piwik.php")
    pt.set_custom_variable(1, "plan", "pro")
    pt.add_ecommerce_item("SKU1", "Shirt", "Clothes", 19.5, 2)
    assert "GIF89a" in pt.do_track_ecommerce_order("A-18", 44.0, 39.0, 4.0, 1.0)
    assert "GIF89a" in pt.do_track_goal(2, 5.5)
    rows = dict(server.rows("SELECT event, props FROM events"))
    assert rows["purchase"]["order_id"] == "A-18" and rows["purchase"]["revenue_amount"] == "44"
    assert rows["purchase"]["items"] == (
        '[{"item_id":"SKU1","item_name":"Shirt","quantity":2,"price":19.5}]'
    )
    assert rows["purchase"]["plan"] == "pro"
    assert rows["goal"]["goal_id"] == "2" and rows["goal"]["revenue_amount"] == "5.5"
