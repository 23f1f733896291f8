"""Issue 20: on a server-side request (/collect, /mp/collect, /api/send) an HTTP library's user agent
is the sending server's, not a bot's: the hit counts as a visitor with device ``other``, unless the
protocol carries the visitor's own user agent, which then decides. The pixel and /api/event keep
calling an HTTP library a bot."""

from __future__ import annotations

import httpx
import msgspec
import pytest
import requests
from ga4mp import GtagMP

from footfall.enrich.useragent import is_http_library
from footfall.model import App
from footfall.query import QuerySpec
from tests.enrich.agents import BOTS, BROWSERS
from tests.live import LiveServer

CHROME = BROWSERS["chrome-windows"][0]
GOOGLEBOT = BOTS["googlebot"][0]


def bot_and_device(server: LiveServer) -> list[tuple[object, ...]]:
    """(bot, device, browser, os) of the stored hits, sorted (the frozen clock gives them one ts)."""
    return sorted(server.rows("SELECT bot, device, browser, os FROM events"), key=repr)


def test_a_ga4_app_sent_with_ga4mp_counts_visitors(server: LiveServer) -> None:
    app = server.create_app("Shop", "https://shop.example")
    app = msgspec.structs.replace(app, aliases=["G-SHOP123"])
    server.runtime.apps.save(app)
    client = GtagMP(api_secret=app.api_secret, measurement_id="G-SHOP123", client_id="1.2")
    client._base_domain = server.url + "/mp/collect"
    page = {"name": "page_view", "params": {"page_location": "https://shop.example/"}}
    client.send([page])  # urllib: "Python-urllib/3.x"
    assert bot_and_device(server) == [(None, "other", None, None)]
    assert server.rows("SELECT user_agent FROM events")[0][0].startswith("Python-urllib/")
    totals = server.runtime.engine.aggregate(QuerySpec(app, "day"), ["visitors", "pageviews"])
    assert totals == {"visitors": {"value": 1}, "pageviews": {"value": 1}}


def test_ga4_user_agent_field_decides(server: LiveServer, http: httpx.Client) -> None:
    app = server.create_app()
    for ua in (CHROME, GOOGLEBOT):
        resp = http.post(
            f"/mp/collect?measurement_id={app.id}&api_secret={app.api_secret}",
            json={"client_id": "1.2", "user_agent": ua, "events": [{"name": "page_view"}]},
            headers={"User-Agent": "node"},
        )
        assert resp.status_code == 204
    assert bot_and_device(server) == [
        ("Googlebot", "bot", "Googlebot", None),
        (None, "desktop", "Chrome", "Windows"),
    ]


@pytest.mark.parametrize(
    ("ua", "expected"),
    [
        (None, (None, "other", None, None)),
        (CHROME, (None, "desktop", "Chrome", "Windows")),
        (GOOGLEBOT, ("Googlebot", "bot", "Googlebot", None)),
        ("curl/8.5.0", ("curl", "bot", "curl", None)),  # a person's command-line client
    ],
)
def test_mp_v1_from_requests(
    server: LiveServer, app: App, ua: str | None, expected: tuple[object, ...]
) -> None:
    data = {"v": "1", "tid": app.id, "cid": "42", "t": "pageview", "dp": "/"}
    if ua:
        data["ua"] = ua
    resp = requests.post(server.url + "/collect", data=data, timeout=10)
    assert resp.status_code == 200 and "x-footfall-ignored" not in resp.headers
    (row,) = bot_and_device(server)
    assert row == expected


def test_mp_v1_with_an_empty_connection_user_agent_is_a_visitor(
    server: LiveServer, app: App, http: httpx.Client
) -> None:
    http.post("/collect", content=f"v=1&tid={app.id}&cid=42&t=pageview", headers={"User-Agent": ""})
    assert bot_and_device(server) == [(None, "other", None, None)]


def test_umami_api_send_from_a_library(server: LiveServer, app: App) -> None:
    for extra in ({}, {"userAgent": CHROME}):
        body = {"type": "event", "payload": {"website": app.id, "url": "/", **extra}}
        resp = requests.post(server.url + "/api/send", json=body, timeout=10)
        assert resp.status_code == 200
    assert bot_and_device(server) == [
        (None, "desktop", "Chrome", "Windows"),
        (None, "other", None, None),
    ]


def test_the_pixel_and_api_event_still_call_a_library_a_bot(
    server: LiveServer, app: App, http: httpx.Client
) -> None:
    assert http.get(f"/p.gif?app={app.id}&path=/").status_code == 200  # python-httpx
    resp = http.post("/api/event", json={"app": app.id, "url": "https://site.example/"})
    assert resp.status_code in (200, 202)
    assert [r[:2] for r in bot_and_device(server)] == [
        ("python-httpx", "bot"),
        ("python-httpx", "bot"),
    ]


@pytest.mark.parametrize(
    "ua",
    [
        "",
        "python-requests/2.32.3",
        "Python-urllib/3.11",
        "python-httpx/0.28.1",
        "aiohttp/3.11",  # as "Python/3.11 aiohttp/3.11" it is not the sender's
        "axios/1.7.9",
        "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
        "undici",
        "node",
        "Go-http-client/1.1",
        "okhttp/4.12.0",
        "Java/17.0.2",
        "Apache-HttpClient/4.5.14 (Java/17)",
        "GuzzleHttp/7",
        "footfall-python-tracker/1",
    ],
)
def test_http_libraries(ua: str) -> None:
    assert is_http_library(ua)


@pytest.mark.parametrize("ua", [CHROME, GOOGLEBOT, "curl/8.5.0", "Wget/1.21.4", "HTTPie/3.2.4"])
def test_not_http_libraries(ua: str) -> None:
    assert not is_http_library(ua)
