"""Visitor and session cookies set by the server on every stored hit."""

from __future__ import annotations

from http.cookies import SimpleCookie
from pathlib import Path

import httpx
import pytest

from footfall.clock import FrozenClock
from footfall.model import App, parse_uuid
from tests.live import LiveServer, live_server


@pytest.fixture
def app(server: LiveServer) -> App:
    """An app in cookie identity mode (new apps are cookieless)."""
    return server.create_app(identity="cookie")


def set_cookies(resp: httpx.Response) -> dict[str, str]:
    """Set-Cookie headers by cookie name, as raw header values."""
    out = {}
    for header in resp.headers.get_list("set-cookie"):
        name = header.split("=", 1)[0]
        out[name] = header
    return out


def cookie_value(header: str) -> str:
    jar: SimpleCookie = SimpleCookie()
    jar.load(header)
    return next(iter(jar.values())).value


def session_of(value: str) -> str:
    """The session a session cookie names: its UUID, before the dot and its last hit's time."""
    session, dot, seen = value.partition(".")
    assert dot and int(seen, 16) > 0
    return session


def ids(server: LiveServer) -> list[tuple[str, str]]:
    return [
        (v, s)
        for v, s in server.rows("SELECT visitor_id, session_id FROM events ORDER BY ts, hit_id")
    ]


def hit(
    http: httpx.Client, app: App, cookies: dict[str, str] | None = None, **headers: str
) -> httpx.Response:
    cookie = "; ".join(f"{k}={v}" for k, v in (cookies or {}).items())
    if cookie:
        headers["Cookie"] = cookie
    return http.get(f"/p.gif?app={app.id}&path=/", headers=headers)


def test_first_hit_sets_a_visitor_and_a_session_cookie(
    server: LiveServer, app: App, http: httpx.Client
) -> None:
    cookies = set_cookies(hit(http, app))
    assert set(cookies) == {"_utma", "_utmb"}
    visitor, session = cookie_value(cookies["_utma"]), session_of(cookie_value(cookies["_utmb"]))
    assert parse_uuid(visitor) == visitor and parse_uuid(session) == session
    assert "Max-Age=63072000" in cookies["_utma"]  # 730 days
    assert "Max-Age=1800" in cookies["_utmb"]  # 30 minutes, renewed on every hit
    for header in cookies.values():
        assert "Path=/" in header and "HttpOnly" in header
        # plain HTTP: no Secure, and so not SameSite=None, which browsers refuse without Secure
        assert "Secure" not in header and "SameSite=Lax" in header
    assert ids(server) == [(visitor, session)]


def test_returning_hit_keeps_visitor_and_session(
    server: LiveServer, clock: FrozenClock, app: App, http: httpx.Client
) -> None:
    first = set_cookies(hit(http, app))
    jar = {"_utma": cookie_value(first["_utma"]), "_utmb": cookie_value(first["_utmb"])}
    session = session_of(jar["_utmb"])
    clock.advance(minutes=20)
    second = set_cookies(hit(http, app, jar))
    assert cookie_value(second["_utma"]) == jar["_utma"]
    assert session_of(cookie_value(second["_utmb"])) == session
    jar["_utmb"] = cookie_value(second["_utmb"])  # the browser keeps the renewed cookie
    clock.advance(minutes=20)  # 40 minutes after the first hit, but 20 after the last: it slides
    hit(http, app, jar)
    assert ids(server) == [(jar["_utma"], session)] * 3


def test_expired_session_starts_a_new_one_for_the_same_visitor(
    server: LiveServer, clock: FrozenClock, app: App, http: httpx.Client
) -> None:
    first = set_cookies(hit(http, app))
    jar = {"_utma": cookie_value(first["_utma"]), "_utmb": cookie_value(first["_utmb"])}
    old_session = session_of(jar["_utmb"])
    clock.advance(minutes=31)
    second = set_cookies(hit(http, app, jar))  # a client that kept the cookie past its Max-Age
    assert cookie_value(second["_utma"]) == jar["_utma"]
    new_session = session_of(cookie_value(second["_utmb"]))
    assert new_session != old_session and parse_uuid(new_session) == new_session
    assert ids(server) == [(jar["_utma"], old_session), (jar["_utma"], new_session)]


def test_an_ended_session_is_told_by_its_cookie_alone_in_any_process(
    server: LiveServer, clock: FrozenClock, app: App, http: httpx.Client
) -> None:
    """The cookie carries its last hit's time: a process that never saw the session (another
    collector, or after a restart) still ends it after the timeout."""
    visitor, session = (
        "7d3c5e2a-1111-4222-8333-444455556666",
        "0b9f2c1e-2222-4333-8444-555566667777",
    )
    an_hour_ago = (clock.now_ms() - 3_600_000) // 1000
    ten_minutes_ago = (clock.now_ms() - 600_000) // 1000
    stale = set_cookies(hit(http, app, {"_utma": visitor, "_utmb": f"{session}.{an_hour_ago:x}"}))
    fresh = set_cookies(
        hit(http, app, {"_utma": visitor, "_utmb": f"{session}.{ten_minutes_ago:x}"})
    )
    assert session_of(cookie_value(stale["_utmb"])) != session
    assert session_of(cookie_value(fresh["_utmb"])) == session


def test_a_session_cookie_without_its_time_is_kept_and_given_one(
    server: LiveServer, clock: FrozenClock, app: App, http: httpx.Client
) -> None:
    """Session cookies set before the time was added are trusted, as their Max-Age is."""
    visitor, session = (
        "7d3c5e2a-1111-4222-8333-444455556666",
        "0b9f2c1e-2222-4333-8444-555566667777",
    )
    cookies = set_cookies(hit(http, app, {"_utma": visitor, "_utmb": session}))
    assert cookie_value(cookies["_utmb"]) == f"{session}.{clock.now_ms() // 1000:x}"
    assert ids(server) == [(visitor, session)]


def test_a_browser_that_dropped_the_expired_session_cookie_gets_a_new_session(
    server: LiveServer, clock: FrozenClock, app: App, http: httpx.Client
) -> None:
    first = set_cookies(hit(http, app))
    visitor = cookie_value(first["_utma"])
    clock.advance(hours=3)
    second = set_cookies(hit(http, app, {"_utma": visitor}))
    assert cookie_value(second["_utma"]) == visitor
    assert cookie_value(second["_utmb"]) != cookie_value(first["_utmb"])


def test_invalid_cookie_values_are_replaced(
    server: LiveServer, app: App, http: httpx.Client
) -> None:
    cookies = set_cookies(hit(http, app, {"_utma": "'; DROP TABLE events; --", "_utmb": "x" * 500}))
    visitor, session = cookie_value(cookies["_utma"]), session_of(cookie_value(cookies["_utmb"]))
    assert parse_uuid(visitor) == visitor and parse_uuid(session) == session
    stored = [(visitor, session)]
    kept = "7d3c5e2a-1111-4222-8333-444455556666"
    for bad in (f"{kept}.", f"{kept}.zz", f"{kept}.{'f' * 13}", f"{kept}.-1", f"{kept}x.1"):
        cookies = set_cookies(hit(http, app, {"_utma": kept, "_utmb": bad}))
        session = session_of(cookie_value(cookies["_utmb"]))
        assert cookie_value(cookies["_utma"]) == kept
        assert parse_uuid(session) == session and session != kept
        stored.append((kept, session))
    assert sorted(ids(server)) == sorted(stored)


def test_https_behind_a_trusted_proxy_gets_samesite_none_secure(db_path: Path) -> None:
    with (
        live_server(db_path, trusted_proxies=("127.0.0.1",)) as server,
        httpx.Client(base_url=server.url) as http,
    ):
        app = server.create_app(identity="cookie")
        resp = hit(
            http, app, **{"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9, 127.0.0.1"}
        )
        for header in set_cookies(resp).values():
            assert "SameSite=None" in header and "Secure" in header
        assert server.rows("SELECT ip FROM events") == [("203.0.113.0",)]


def test_forwarded_headers_from_an_untrusted_peer_are_ignored(
    server: LiveServer, app: App, http: httpx.Client
) -> None:
    resp = hit(http, app, **{"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"})
    for header in set_cookies(resp).values():
        assert "Secure" not in header
    assert server.rows("SELECT ip FROM events") == [("127.0.0.0",)]


def test_cookie_names_are_configurable(db_path: Path) -> None:
    with (
        live_server(db_path, visitor_cookie="ff_v", session_cookie="ff_s") as server,
        httpx.Client(base_url=server.url) as http,
    ):
        app = server.create_app(identity="cookie")
        assert set(set_cookies(hit(http, app))) == {"ff_v", "ff_s"}


def test_full_ip_is_kept_only_when_asked(db_path: Path) -> None:
    with (
        live_server(db_path, store_full_ip=True) as server,
        httpx.Client(base_url=server.url) as http,
    ):
        app = server.create_app(identity="cookie")
        hit(http, app)
        assert server.rows("SELECT ip FROM events") == [("127.0.0.1",)]
