"""GA4 client-side collection: /g/collect takes what gtag.js sends from a browser.

No browser runs here: the requests are built as gtag.js sends them (the shared parameters in the
URL, several events in a POST body one per line, sent with navigator.sendBeacon as text/plain),
the format as public references of the protocol document it (see footfall.collect.gtag)."""

from __future__ import annotations

from urllib.parse import urlencode

import httpx
import msgspec
import pytest

from footfall.collect.mp import visitor_key
from footfall.model import App
from tests.live import LiveServer

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
BEACON = {"content-type": "text/plain;charset=UTF-8", "user-agent": CHROME}


@pytest.fixture
def g_app(server: LiveServer) -> App:
    app = server.create_app("Shop", "https://shop.example")
    app = msgspec.structs.replace(app, aliases=["G-SHOP123"])
    server.runtime.apps.save(app)
    return app


def gtag_url(**extra: str) -> str:
    """A /g/collect URL with the request-level parameters gtag.js puts on every request."""
    params = {
        "v": "2", "tid": "G-SHOP123", "gtm": "45je4b20v9", "_p": "1733500000000",
        "gcd": "13l3l3l3l1l1", "npa": "0", "dma": "0", "cid": "1234567890.1733499000",
        "ul": "de-de", "sr": "1920x1080", "uaa": "x86", "uab": "64", "are": "1", "frm": "0",
        "pscdl": "noapi", "_s": "1", "sid": "1733499000", "sct": "3", "seg": "1",
        "dl": "https://shop.example/shoes?color=red", "dr": "https://search.example/",
        "dt": "Shoes", **extra,
    }  # fmt: skip
    return "/g/collect?" + urlencode(params)


def test_a_page_view_in_the_url_alone(server: LiveServer, g_app: App, http: httpx.Client) -> None:
    resp = http.post(gtag_url(en="page_view", _fv="1", _ss="1", _ee="1", tfd="512"), headers=BEACON)
    assert resp.status_code == 204 and resp.content == b""
    assert "x-footfall-ignored" not in resp.headers
    assert server.rows(
        "SELECT app_id, event, channel, url, hostname, path, title, referrer, language, screen,"
        " props, user_agent FROM events"
    ) == [
        (g_app.id, "pageview", "gtag", "https://shop.example/shoes?color=red", "shop.example",
         "/shoes", "Shoes", "https://search.example/", "de-de", "1920x1080", None, CHROME)
    ]  # fmt: skip


def test_get_works_too(server: LiveServer, g_app: App, http: httpx.Client) -> None:
    resp = http.get(gtag_url(en="page_view"), headers={"user-agent": CHROME})
    assert resp.status_code == 204
    assert server.rows("SELECT event, path FROM events") == [("pageview", "/shoes")]


def test_batched_lines_add_to_and_override_the_url(
    server: LiveServer, g_app: App, http: httpx.Client
) -> None:
    body = "\r\n".join(
        [
            "en=scroll&_et=4210&epn.percent_scrolled=90",
            "en=user_engagement&_et=15012",
            "en=sign_up&_et=10&ep.method=Google&epn.value=3.5&epn.bad=lots&dt=Welcome"
            "&dl=https%3A%2F%2Fshop.example%2Fwelcome",
            "en=view_search_results&ep.search_term=red%20shoes",
        ]
    )
    resp = http.post(gtag_url(), content=body, headers=BEACON)
    assert resp.status_code == 204 and resp.content == b""
    assert resp.headers["x-footfall-ignored"] == "gtag-user-engagement"
    assert server.rows("SELECT event, path, title, props FROM events ORDER BY event") == [
        ("scroll", "/shoes", "Shoes", {"percent_scrolled": "90"}),
        ("sign_up", "/welcome", "Welcome", {"method": "Google", "value": "3.5"}),
        ("view_search_results", "/shoes", "Shoes", {"search_term": "red shoes"}),
    ]


def test_a_purchase_keeps_currency_and_items(
    server: LiveServer, g_app: App, http: httpx.Client
) -> None:
    body = (
        "en=purchase&cu=EUR&ep.transaction_id=T-77&epn.value=29.97&epn.shipping=4"
        "&pr1=idSKU_1~nmRed%20shoe~brAcme~pr9.99~qt2&pr2=idSKU_2~nmLace~pr9.99~qt1~k0color~v0red"
        "&pr3=brNoIdNorName"
    )
    assert http.post(gtag_url(), content=body, headers=BEACON).status_code == 204
    [(props,)] = server.rows("SELECT props FROM events")
    assert props == {
        "currency": "EUR",
        "transaction_id": "T-77",
        "value": "29.97",
        "shipping": "4",
        "item_count": "2",
        "items": '[{"item_id":"SKU_1","item_name":"Red shoe","quantity":2,"price":9.99},'
        '{"item_id":"SKU_2","item_name":"Lace","quantity":1,"price":9.99}]',
    }


def test_visitors_follow_the_identity_mode(
    server: LiveServer, g_app: App, http: httpx.Client
) -> None:
    http.post(gtag_url(en="page_view"), headers=BEACON)
    server.runtime.apps.save(msgspec.structs.replace(g_app, identity="first-party"))
    http.post(gtag_url(en="page_view"), headers=BEACON)
    http.post(gtag_url(en="page_view", uid="user-42"), headers=BEACON)
    rows = server.rows("SELECT identity, visitor_id FROM events ORDER BY epoch_ms(ts), hit_id")
    client = visitor_key(g_app, "1234567890.1733499000")
    assert ("client-id", client) in rows and ("client-id", visitor_key(g_app, "user-42")) in rows
    cookieless = [r for r in rows if r[0] == "cookieless"]
    assert len(cookieless) == 1 and cookieless[0][1] != client  # the _ga id was not read


@pytest.mark.parametrize(
    ("url", "status", "error", "reason"),
    [
        (gtag_url(en="page_view", tid="G-NOPE999"), 400, "tid: no app", "unknown-app"),
        (gtag_url(en="page_view", tid=""), 400, "tid: required", "missing-app"),
        (gtag_url(en="page_view", v="1"), 400, "v: '1' is not", "invalid-version"),
    ],
)
def test_requests_refused_as_a_whole(
    server: LiveServer,
    g_app: App,
    http: httpx.Client,
    url: str,
    status: int,
    error: str,
    reason: str,
) -> None:
    resp = http.post(url, headers=BEACON)
    assert resp.status_code == status and resp.json()["error"].startswith(error)
    assert resp.headers["x-footfall-ignored"] == reason
    assert server.count() == 0


def test_an_app_that_requires_its_api_key_refuses_client_side_hits(
    server: LiveServer, g_app: App, http: httpx.Client
) -> None:
    server.runtime.apps.save(msgspec.structs.replace(g_app, require_api_key=True))
    resp = http.post(gtag_url(en="page_view", api_secret=g_app.api_secret), headers=BEACON)
    assert resp.status_code == 403 and "require_api_key" in resp.json()["error"]
    assert resp.headers["x-footfall-ignored"] == "invalid-api-secret"
    assert server.count() == 0


def test_events_not_stored_say_why_and_the_others_are(
    server: LiveServer, g_app: App, http: httpx.Client
) -> None:
    body = "ep.x=1\nen=page_view&sr=huge\nen=page_view&dl=javascript%3Aalert(1)\nen=ok"
    resp = http.post(gtag_url(), content=body, headers=BEACON)
    assert resp.status_code == 204
    assert resp.headers["x-footfall-ignored"] == (
        "gtag-missing-event-name, invalid-screensize, invalid-url"
    )
    assert server.rows("SELECT event FROM events") == [("ok",)]


def test_too_big(server: LiveServer, g_app: App, http: httpx.Client) -> None:
    big = http.post(gtag_url(), content="en=x&ep.y=" + "z" * 70_000, headers=BEACON)
    assert big.status_code == 413 and "65536" in big.json()["error"]
    many = http.post(gtag_url(), content="\n".join(["en=tick"] * 51), headers=BEACON)
    assert many.status_code == 413 and "50" in many.json()["error"]
    ok = http.post(gtag_url(), content="\n".join(["en=tick"] * 50), headers=BEACON)
    assert ok.status_code == 204
    assert server.count() == 50
