"""POST /api/event with Plausible's Events API payloads: a Plausible tracker or client pointed at
footfall keeps working, each event stored for the app its domain names."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from footfall.model import App
from tests.live import LiveServer, live_server

BROWSER = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)
HEADERS = {"User-Agent": BROWSER, "Content-Type": "text/plain"}


def send(http: httpx.Client, body: object, **headers: str) -> httpx.Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return http.post("/api/event", content=data, headers={**HEADERS, **headers})


def assert_ok(resp: httpx.Response) -> None:
    assert resp.status_code == 202
    assert resp.text == "ok"
    assert resp.headers["content-type"].startswith("text/plain")
    assert "x-footfall-ignored" not in resp.headers


EVENT_COLUMNS = "SELECT app_id, event, url, hostname, path, referrer, props, channel FROM events"


def test_a_pageview_with_short_names(server: LiveServer, app: App, http: httpx.Client) -> None:
    resp = send(
        http,
        {
            "n": "pageview",
            "u": "https://site.example/docs?utm_source=news",
            "d": "site.example",
            "r": "https://search.example/?q=footfall",
            "w": 1280,
        },
    )
    assert_ok(resp)
    assert server.rows(EVENT_COLUMNS) == [
        (
            app.id,
            "pageview",
            "https://site.example/docs?utm_source=news",
            "site.example",
            "/docs",
            "https://search.example/?q=footfall",
            None,
            "api",
        )
    ]
    assert server.rows("SELECT screen, utm_source, user_agent FROM events") == [
        (None, "news", BROWSER)  # a width alone is not a screen size
    ]


def test_long_names_and_props_as_an_object(
    server: LiveServer, app: App, http: httpx.Client
) -> None:
    resp = send(
        http,
        {
            "name": "Signup",
            "url": "https://site.example/pricing",
            "domain": "site.example",
            "referrer": "https://blog.example/post",
            "props": {"plan": "pro", "seats": 3, "trial": True, "coupon": None},
        },
        **{"Content-Type": "application/json"},
    )
    assert_ok(resp)
    assert server.rows("SELECT event, path, referrer, props FROM events") == [
        (
            "Signup",
            "/pricing",
            "https://blog.example/post",
            {"plan": "pro", "seats": "3", "trial": "true"},
        )
    ]


def test_props_as_a_json_string(server: LiveServer, app: App, http: httpx.Client) -> None:
    props = json.dumps({"author": "Ada", "words": 1200})
    body = {"n": "Read", "u": "https://site.example/a", "d": "site.example", "p": props}
    assert_ok(send(http, body))
    assert server.rows("SELECT event, props FROM events") == [
        ("Read", {"author": "Ada", "words": "1200"})
    ]


def test_props_keep_footfalls_limits(server: LiveServer, app: App, http: httpx.Client) -> None:
    props = {f"k{i:02}": "v" * 1000 for i in range(50)}
    body = {"n": "Big", "u": "https://site.example/", "d": "site.example", "p": props}
    assert_ok(send(http, {**body, "revenue": {"currency": "EUR", "amount": 1}}))
    ((stored,),) = server.rows("SELECT props FROM events")
    assert len(stored) == 30 and stored["revenue_amount"] == "1"  # revenue is never cut off
    assert all(len(v) <= 256 for v in stored.values())


def test_a_custom_event_with_revenue_and_not_interactive(
    server: LiveServer, app: App, http: httpx.Client
) -> None:
    body = {
        "n": "Purchase",
        "u": "https://site.example/checkout",
        "d": "site.example",
        "revenue": {"currency": "eur", "amount": 12.5},
        "interactive": False,
        "p": {"sku": "A-1"},
    }
    assert_ok(send(http, body))
    body2 = {**body, "revenue": {"currency": "USD", "amount": "19.99"}, "interactive": True}
    assert_ok(send(http, body2))
    assert sorted(server.rows("SELECT event, props FROM events"), key=str) == [
        (
            "Purchase",
            {
                "revenue_amount": "12.5",
                "revenue_currency": "EUR",
                "interactive": "false",
                "sku": "A-1",
            },
        ),
        ("Purchase", {"revenue_amount": "19.99", "revenue_currency": "USD", "sku": "A-1"}),
    ]


def test_an_unreadable_revenue_is_dropped_and_the_event_kept(
    server: LiveServer, app: App, http: httpx.Client
) -> None:
    body = {"n": "Buy", "u": "https://site.example/", "d": "site.example"}
    assert_ok(send(http, {**body, "revenue": {"currency": "EUR", "amount": "a lot"}}))
    assert server.rows("SELECT event, props FROM events") == [("Buy", None)]


def test_a_domain_list_stores_the_event_once_for_each_app(
    server: LiveServer, app: App, http: httpx.Client
) -> None:
    other = server.create_app("Rollup", "https://rollup.example")
    body = {
        "n": "pageview",
        "u": "https://site.example/",
        "d": "site.example, rollup.example,site.example",
    }
    assert_ok(send(http, body))
    assert server.count(app.id) == 1
    assert server.count(other.id) == 1
    assert sorted(server.rows("SELECT app_id, path, hostname FROM events")) == sorted(
        [(app.id, "/", "site.example"), (other.id, "/", "site.example")]
    )


def test_www_is_ignored_on_either_side(server: LiveServer, http: httpx.Client) -> None:
    shop = server.create_app("Shop", "https://www.Shop.example/store")
    blog = server.create_app("Blog", "https://blog.example")
    assert_ok(send(http, {"n": "pageview", "u": "https://shop.example/", "d": "shop.example"}))
    assert_ok(send(http, {"n": "pageview", "u": "https://blog.example/", "d": "WWW.blog.example"}))
    assert server.count(shop.id) == 1
    assert server.count(blog.id) == 1


def test_an_alias_names_the_app(server: LiveServer, http: httpx.Client) -> None:
    app = server.create_app("Docs", "https://docs.example")
    app.aliases = ["docs.old.example"]
    server.runtime.apps.save(app)
    assert_ok(
        send(http, {"n": "pageview", "u": "https://docs.old.example/", "d": "docs.old.example"})
    )
    assert server.rows("SELECT app_id, hostname FROM events") == [(app.id, "docs.old.example")]


def test_an_unknown_domain_is_202_ok_with_the_reason_and_counted(
    server: LiveServer, app: App, http: httpx.Client
) -> None:
    before = server.runtime.ingest.counters.ignored["unknown-app"]
    resp = send(http, {"n": "pageview", "u": "https://else.example/", "d": "else.example"})
    assert resp.status_code == 202
    assert resp.text == "ok"
    assert resp.headers["x-footfall-ignored"] == "unknown-app"
    assert server.runtime.ingest.counters.ignored["unknown-app"] == before + 1
    assert server.count() == 0


def test_a_list_with_an_unknown_domain_stores_the_known_ones(
    server: LiveServer, app: App, http: httpx.Client
) -> None:
    resp = send(
        http, {"n": "pageview", "u": "https://site.example/", "d": "else.example,site.example"}
    )
    assert resp.status_code == 202
    assert resp.headers["x-footfall-ignored"] == "unknown-app"
    assert server.rows("SELECT app_id FROM events") == [(app.id,)]


@pytest.mark.parametrize("content_type", ["text/plain", "application/json", None])
def test_text_plain_and_json_bodies(
    server: LiveServer, app: App, http: httpx.Client, content_type: str | None
) -> None:
    body = json.dumps({"n": "pageview", "u": "https://site.example/x", "d": "site.example"})
    headers = {"User-Agent": BROWSER, **({"Content-Type": content_type} if content_type else {})}
    resp = http.post("/api/event", content=body, headers=headers)
    assert_ok(resp)
    assert server.rows("SELECT path FROM events") == [("/x",)]


def test_an_app_url_is_taken_with_its_host_and_path(
    server: LiveServer, app: App, http: httpx.Client
) -> None:
    assert_ok(send(http, {"n": "pageview", "u": "app://localhost/settings", "d": "site.example"}))
    assert server.rows("SELECT url, hostname, path FROM events") == [
        ("app://localhost/settings", "localhost", "/settings")
    ]


def test_a_data_url_is_not_a_page(server: LiveServer, app: App, http: httpx.Client) -> None:
    resp = send(http, {"n": "pageview", "u": "data:text/html,hi", "d": "site.example"})
    assert resp.status_code == 202
    assert resp.headers["x-footfall-ignored"] == "invalid-url"
    assert server.count() == 0


def test_hash_mode_keeps_the_fragment_in_the_path(
    server: LiveServer, app: App, http: httpx.Client
) -> None:
    url = "https://site.example/app#/settings"
    assert_ok(send(http, {"n": "pageview", "u": url, "d": "site.example", "h": 1}))
    assert_ok(send(http, {"n": "pageview", "u": url, "d": "site.example"}))
    assert sorted(server.rows("SELECT path FROM events")) == [("/app",), ("/app#/settings",)]


def test_engagement_events_are_not_stored(server: LiveServer, app: App, http: httpx.Client) -> None:
    body = {
        "n": "engagement",
        "u": "https://site.example/",
        "d": "site.example",
        "sd": 80,
        "e": 9000,
    }
    resp = send(http, body)
    assert resp.status_code == 202
    assert resp.headers["x-footfall-ignored"] == "plausible-engagement"
    assert server.count() == 0


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b'{"n": "pageview", "d": "site.example"', "not a JSON object"),
        (b"n=pageview&d=site.example", "not a JSON object"),
        (b'{"n": "pageview", "d": "site.example", "p": ["a"]}', "$.p"),
        (b'{"n": "pageview", "d": "site.example", "p": "[1]"}', "props"),
        (b'{"n": "pageview", "d": "site.example", "p": "{not json"}', "props"),
        (b'{"n": "pageview", "d": "site.example", "props": {"a": {"b": 1}}}', "$.props"),
        (b'{"n": "pageview", "d": 7}', "$.d"),
        (b'{"n": "pageview", "d": "x", "p": ' + b"[" * 40 + b"]" * 40 + b"}", "deeper"),
    ],
)
def test_bad_bodies_are_400(
    server: LiveServer, app: App, http: httpx.Client, body: bytes, fragment: str
) -> None:
    resp = send(http, body)
    assert resp.status_code == 400
    assert fragment in resp.json()["error"]
    assert server.count() == 0


def test_a_body_over_the_limit_is_413(server: LiveServer, app: App, http: httpx.Client) -> None:
    body = {
        "n": "pageview",
        "u": "https://site.example/",
        "d": "site.example",
        "p": {"x": "y" * 70_000},
    }
    assert send(http, body).status_code == 413
    assert server.count() == 0


def test_a_full_spool_is_503_with_retry_after(tmp_path: Path) -> None:
    with live_server(tmp_path / "full.duckdb", spool_max="4KB") as server:
        server.create_app()
        with httpx.Client(base_url=server.url) as http:
            body = {"n": "pageview", "u": "https://site.example/", "d": "site.example"}
            for _ in range(1000):  # 4 KB of spool holds a few hits
                if (resp := send(http, body)).status_code != 202:
                    break
                assert resp.text == "ok"
            assert resp.status_code == 503
            assert resp.headers["retry-after"] == "5"
            assert resp.json()["reason"] == "spool-full"


def test_footfalls_own_payload_is_unchanged(
    server: LiveServer, app: App, http: httpx.Client
) -> None:
    resp = send(
        http, {"app": app.id, "url": "https://site.example/own", "d": "else.example", "n": "x"}
    )
    assert resp.json() == {"status": "accepted"}
    assert server.rows("SELECT event, path FROM events") == [("pageview", "/own")]


def test_the_plausible_events_client(
    proxied: LiveServer, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ``plausible-events`` package from PyPI, used as its README shows, pointed at footfall."""
    plausible_events = pytest.importorskip("plausible_events")
    app = proxied.create_app("Desktop app", "https://my.domain.com")
    # It asks a public service for the machine's address once (sent as X-Forwarded-For): the
    # tests stay offline, so that one call answers a documentation address.
    monkeypatch.setattr(plausible_events.PlausibleEvents, "_get_ip", lambda self: "203.0.113.9")
    pe = plausible_events.PlausibleEvents(
        domain="my.domain.com", api=f"{proxied.url}/api/event", headers={"User-Agent": BROWSER}
    )
    pe.worker.daemon = True  # its worker never ends by itself; the test must not wait for it
    pe.pageview("/login/user", utm={"source": "newsletter"})
    pe.event("my event", dict(os="mac", var="foo"))
    deadline = time.monotonic() + 10
    while proxied.count(app.id) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    rows = proxied.rows("SELECT event, url, hostname, path, utm_source, props, ip FROM events")
    assert sorted(rows, key=str) == sorted(
        [
            (
                "pageview",
                "app://localhost/login/user?utm_source=newsletter",
                "localhost",
                "/login/user",
                "newsletter",
                None,
                "203.0.113.0",
            ),
            (
                "my event",
                "app://localhost/",
                "localhost",
                "/",
                None,
                {"os": "mac", "var": "foo"},
                "203.0.113.0",
            ),
        ],
        key=str,
    )
