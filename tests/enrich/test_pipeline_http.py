"""The whole enrichment pipeline through the real HTTP server: what is stored, and each drop reason."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import msgspec
import pytest

from footfall.model import App
from tests.enrich.agents import BOTS, BROWSERS
from tests.live import LiveServer

IPHONE = BROWSERS["safari-iphone"][0]
CHROME = BROWSERS["chrome-windows"][0]


def pixel(client: httpx.Client, app: App, url: str, **headers: str) -> httpx.Response:
    query = f"app={app.id}&url={quote(url, safe='')}"
    if "referrer" in headers:
        query += "&referrer=" + quote(headers.pop("referrer"), safe="")
    resp = client.get("/p.gif?" + query, headers=headers)
    assert resp.status_code == 200
    return resp


def update(server: LiveServer, app: App, **changes: object) -> App:
    changed = msgspec.structs.replace(app, **changes)
    server.runtime.apps.save(changed)
    return changed


def test_a_hit_is_stored_enriched(proxied: LiveServer, client: httpx.Client) -> None:
    app = proxied.create_app()
    resp = pixel(
        client,
        app,
        "https://site.example/sale?utm_campaign=spring-sale",
        referrer="https://www.google.de/",
        **{"User-Agent": IPHONE, "X-Forwarded-For": "193.0.6.139"},
    )
    assert "x-footfall-ignored" not in resp.headers
    assert proxied.rows(
        "SELECT browser, browser_version, os, os_version, device, bot, country, ip,"
        " referrer_host, source, medium, utm_campaign, identity FROM events"
    ) == [
        (
            "Mobile Safari",
            "18",
            "iOS",
            "18.1",
            "mobile",
            None,
            "NL",
            "193.0.6.0",
            "google.de",
            "Google",
            "search",
            "spring-sale",
            "cookieless",
        )
    ]


def test_bots_are_stored_flagged_not_dropped(proxied: LiveServer, client: httpx.Client) -> None:
    app = proxied.create_app()
    for name in ("gptbot", "googlebot", "curl"):
        resp = pixel(client, app, "https://site.example/", **{"User-Agent": BOTS[name][0]})
        assert "x-footfall-ignored" not in resp.headers
    resp = client.get(f"/p.gif?app={app.id}&path=/", headers={"User-Agent": ""})
    assert "x-footfall-ignored" not in resp.headers
    assert sorted(proxied.rows("SELECT bot, device FROM events")) == [
        ("Empty user agent", "bot"),
        ("GPTBot", "bot"),
        ("Googlebot", "bot"),
        ("curl", "bot"),
    ]


def test_excluded_addresses_are_ignored(proxied: LiveServer, client: httpx.Client) -> None:
    app = update(proxied, proxied.create_app(), exclude_ips=["203.0.113.0/24", "2001:db8::/32"])
    for ip in ("203.0.113.9", "2001:db8::1"):
        resp = pixel(client, app, "https://site.example/", **{"X-Forwarded-For": ip})
        assert resp.headers["x-footfall-ignored"] == "excluded-ip"
    resp = pixel(client, app, "https://site.example/", **{"X-Forwarded-For": "198.51.100.1"})
    assert "x-footfall-ignored" not in resp.headers
    assert proxied.count(app.id) == 1
    assert proxied.runtime.counters.ignored["excluded-ip"] == 2


def test_excluded_paths_are_ignored(proxied: LiveServer, client: httpx.Client) -> None:
    app = update(proxied, proxied.create_app(), exclude_paths=["/admin/**", "/preview/*.html"])
    for url in (
        "https://site.example/admin",
        "https://site.example/admin/users/1",
        "https://site.example/preview/a.html",
    ):
        resp = pixel(client, app, url)
        assert resp.headers["x-footfall-ignored"] == "excluded-path"
        assert "set-cookie" not in resp.headers  # no visitor is made for an ignored hit
    for url in ("https://site.example/administrator", "https://site.example/preview/x/a.html"):
        assert "x-footfall-ignored" not in pixel(client, app, url).headers
    assert proxied.runtime.counters.ignored["excluded-path"] == 3
    assert proxied.count(app.id) == 2


@pytest.mark.parametrize("header", ["DNT", "Sec-GPC"])
def test_do_not_track_drop(proxied: LiveServer, client: httpx.Client, header: str) -> None:
    app = update(proxied, proxied.create_app(), dnt_action="drop")
    resp = pixel(client, app, "https://site.example/", **{header: "1"})
    assert resp.headers["x-footfall-ignored"] == "dnt"
    assert "set-cookie" not in resp.headers
    assert proxied.count(app.id) == 0
    resp = client.post(
        "/api/event", json={"app": app.id, "url": "https://site.example/"}, headers={header: "1"}
    )
    assert resp.json() == {"status": "ignored", "reason": "dnt"}


@pytest.mark.parametrize("header", ["DNT", "Sec-GPC"])
def test_do_not_track_anonymous_keeps_the_hit_without_ids(
    proxied: LiveServer, client: httpx.Client, header: str
) -> None:
    app = proxied.create_app()  # respect_dnt on, dnt_action "anonymous": the defaults
    resp = pixel(
        client,
        app,
        "https://site.example/",
        **{header: "1", "X-Forwarded-For": "8.8.8.8", "User-Agent": CHROME},
    )
    assert "x-footfall-ignored" not in resp.headers
    assert "set-cookie" not in resp.headers
    assert proxied.rows(
        "SELECT visitor_id, session_id, identity, ip, country, browser FROM events"
    ) == [(None, None, "none", None, "US", "Chrome")]


def test_do_not_track_can_be_ignored(proxied: LiveServer, client: httpx.Client) -> None:
    app = update(proxied, proxied.create_app(), respect_dnt=False)
    resp = pixel(client, app, "https://site.example/", DNT="1")
    assert "x-footfall-ignored" not in resp.headers
    # identified as any hit is (the app's default identity), not counted anonymously
    assert proxied.rows("SELECT identity FROM events") == [("cookieless",)]


def test_client_hints_reach_the_stored_hit(proxied: LiveServer, client: httpx.Client) -> None:
    app = proxied.create_app()
    hints = {
        "User-Agent": CHROME,
        "Sec-CH-UA": '"Brave";v="131", "Chromium";v="131", "Not_A Brand";v="24"',
        "Sec-CH-UA-Mobile": "?0",
        "Sec-CH-UA-Platform": '"Windows"',
        "Sec-CH-UA-Platform-Version": '"15.0.0"',
    }
    pixel(client, app, "https://site.example/", **hints)
    assert proxied.rows("SELECT browser, os, os_version, device FROM events") == [
        ("Brave", "Windows", "11", "desktop")
    ]
