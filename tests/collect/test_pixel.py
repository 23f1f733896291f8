"""GET /p.gif: the classic image-beacon snippet, the GIF answer and the ignored-because header."""

from __future__ import annotations

import http.client as http_client
from urllib.parse import quote

import httpx
import pytest

from footfall.collect.gif import TRANSPARENT_GIF
from footfall.model import App
from tests.live import LiveServer

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"


def snippet_query(app_id: str, **overrides: str) -> str:
    """The query string the classic snippet builds: every value through encodeURIComponent."""
    d = {
        "app": app_id,
        "path": "/blog/hello world",
        "title": "Hello — world & co",
        "platform": "Linux x86_64",
        "language": "en-GB",
        "screensize": "1920x1080",
        "pixelratio": "1.25",
        "referrer": "https://news.ycombinator.com/item?id=1",
    }
    d.update(overrides)
    return "&".join(f"{k}={quote(v, safe='')}" for k, v in d.items())


def assert_gif(resp: httpx.Response) -> None:
    assert resp.status_code == 200
    assert resp.content == TRANSPARENT_GIF
    assert resp.headers["content-type"] == "image/gif"
    assert resp.headers["cache-control"] == "no-cache, no-store, must-revalidate"
    assert resp.headers["pragma"] == "no-cache"
    assert resp.headers["expires"] == "0"


def test_classic_snippet_is_stored_with_every_field(
    server: LiveServer, app: App, http: httpx.Client
) -> None:
    resp = http.get(
        "/p.gif?" + snippet_query(app.id),
        headers={"User-Agent": CHROME, "Referer": "https://site.example/blog/hello%20world"},
    )
    assert_gif(resp)
    assert "x-footfall-ignored" not in resp.headers
    rows = server.rows(
        "SELECT app_id, event, path, title, platform, language, screen, pixel_ratio, referrer, user_agent, ip, hostname, channel, "
        "epoch_ms(ts) FROM events"
    )
    assert rows == [
        (
            app.id,
            "pageview",
            "/blog/hello world",
            "Hello — world & co",
            "Linux x86_64",
            "en-GB",
            "1920x1080",
            1.25,
            "https://news.ycombinator.com/item?id=1",
            CHROME,
            "127.0.0.0",
            "site.example",
            "pixel",
            server.clock.now_ms(),
        )
    ]


def test_url_and_event_parameters(server: LiveServer, app: App, http: httpx.Client) -> None:
    q = f"app={app.id}&url={quote('https://www.site.example/pricing?plan=pro')}&event=signup"
    assert_gif(http.get("/p.gif?" + q))
    assert server.rows("SELECT event, hostname, path, url FROM events") == [
        ("signup", "www.site.example", "/pricing", "https://www.site.example/pricing?plan=pro")
    ]


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("", "missing-app"),
        ("path=/x", "missing-app"),
        ("app=not-a-uuid&path=/x", "invalid-app"),
        ("app=00000000-0000-4000-8000-000000000000&path=/x", "unknown-app"),
        ("app=%ff%fe%00%01&path=/x", "invalid-encoding"),
        ("&".join(f"k{i}=1" for i in range(100)), "too-many-fields"),
    ],
)
def test_bad_app_answers_the_gif_with_a_reason(
    server: LiveServer, app: App, http: httpx.Client, query: str, reason: str
) -> None:
    resp = http.get("/p.gif?" + query)
    assert_gif(resp)
    assert resp.headers["x-footfall-ignored"] == reason
    assert server.count() == 0
    assert server.runtime.counters.ignored[reason] == 1


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"screensize": "99999999x-1"}, "invalid-screensize"),
        ({"screensize": "<script>"}, "invalid-screensize"),
        ({"pixelratio": "NaN"}, "invalid-pixelratio"),
        ({"pixelratio": "1e308"}, "invalid-pixelratio"),
        ({"pixelratio": "-2"}, "invalid-pixelratio"),
        ({"pixelratio": "1e-320"}, "invalid-pixelratio"),  # subnormal: would be stored as 0.0
        ({"pixelratio": "0"}, "invalid-pixelratio"),
        ({"pixelratio": "0.00001"}, "invalid-pixelratio"),  # rounds to 0.0
        ({"pixelratio": "1_0"}, "invalid-pixelratio"),  # float() reads 10
        ({"pixelratio": "\uff12"}, "invalid-pixelratio"),  # a full-width two
        ({"pixelratio": "2e0"}, "invalid-pixelratio"),
        ({"pixelratio": " 2"}, "invalid-pixelratio"),
        ({"screensize": "\u0661\u0669\u0662\u0660x\u0661\u0660\u0668\u0660"}, "invalid-screensize"),
        ({"screensize": "1_920x1080"}, "invalid-screensize"),
        ({"url": "javascript:alert(1)"}, "invalid-url"),
    ],
)
def test_absurd_values_are_ignored(
    server: LiveServer, app: App, http: httpx.Client, override: dict[str, str], reason: str
) -> None:
    resp = http.get("/p.gif?" + snippet_query(app.id, **override))
    assert_gif(resp)
    assert resp.headers["x-footfall-ignored"] == reason
    assert server.count() == 0


@pytest.mark.parametrize("ratio", ["2", "1.25", "0.5", "2.", ".75"])
def test_a_plain_decimal_pixel_ratio_is_taken(
    server: LiveServer, app: App, http: httpx.Client, ratio: str
) -> None:
    resp = http.get("/p.gif?" + snippet_query(app.id, pixelratio=ratio))
    assert "x-footfall-ignored" not in resp.headers
    assert server.rows("SELECT pixel_ratio FROM events") == [(float(ratio),)]


def test_control_characters_are_stripped_from_props_keys_and_values(
    server: LiveServer, app: App, http: httpx.Client
) -> None:
    props = '{"pl\\u0000an": "pro\\u0000\\u001f", "\\u0000": "gone"}'
    resp = http.get("/p.gif?" + snippet_query(app.id, event="signup", props=props))
    assert "x-footfall-ignored" not in resp.headers
    assert server.rows("SELECT props FROM events") == [({"plan": "pro"},)]


def test_oversized_values_are_capped_not_rejected(
    server: LiveServer, app: App, http: httpx.Client
) -> None:
    resp = http.get("/p.gif?" + snippet_query(app.id, title="t" * 3000, path="/" + "p" * 3000))
    assert_gif(resp)
    assert "x-footfall-ignored" not in resp.headers
    assert server.rows("SELECT length(title), length(path) FROM events") == [(512, 1024)]


def test_megabyte_query_string_and_binary_junk_leave_the_server_healthy(
    server: LiveServer, app: App, http: httpx.Client
) -> None:
    # httpx refuses such URLs, so send the request line over a plain connection
    conn = http_client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("GET", f"/p.gif?app={app.id}&path=/" + "a" * 1_000_000)
    raw = conn.getresponse()
    assert raw.status == 200
    assert raw.read() == TRANSPARENT_GIF
    assert raw.getheader("x-footfall-ignored") == "too-large"
    conn.close()
    junk = bytes(range(256)).decode("latin-1")
    resp = http.get("/p.gif", params={"app": app.id, "title": junk, junk: junk})
    assert_gif(resp)
    assert http.get("/-/health").status_code == 200
    stored = server.rows("SELECT title FROM events")
    assert len(stored) == 1  # the junk title is stored as text, without control characters
    assert stored[0][0].startswith('!"#$%') and "\x00" not in stored[0][0]
    assert http.get("/p.gif?" + snippet_query(app.id)).status_code == 200
    assert server.count() == 2


def test_unknown_parameters_never_become_columns(
    server: LiveServer, app: App, http: httpx.Client
) -> None:
    resp = http.get(
        "/p.gif?" + snippet_query(app.id) + "&evil%3B%20DROP%20TABLE%20events=1&ts=0&visitor_id=x"
    )
    assert_gif(resp)
    assert server.rows(
        "SELECT count(*), min(visitor_id) <> 'x', min(epoch_ms(ts)) FROM events"
    ) == [(1, True, server.clock.now_ms())]


def test_a_registered_alias_names_the_app(server: LiveServer, app: App, http: httpx.Client) -> None:
    import msgspec

    server.runtime.apps.save(msgspec.structs.replace(app, aliases=["UA-12345-6"]))
    resp = http.get("/p.gif?app=UA-12345-6&path=/via-alias")
    assert_gif(resp)
    assert "x-footfall-ignored" not in resp.headers
    assert server.rows("SELECT app_id, path FROM events") == [(app.id, "/via-alias")]


@pytest.mark.parametrize(
    "name",
    [
        "site.example",
        "WWW.Site.Example",
        "unknown.example,site.example",
        "other.example,%20site.example",
    ],
)
def test_a_site_domain_names_the_app(
    server: LiveServer, app: App, http: httpx.Client, name: str
) -> None:
    """Plausible's data-domain as ``app``: the app whose site has that host (the first one a
    comma-separated list names that an app has)."""
    other = server.create_app("Other", "https://other.example")
    resp = http.get(f"/p.gif?app={name}&path=/via-domain")
    assert_gif(resp)
    assert "x-footfall-ignored" not in resp.headers
    expected = other if name.startswith("other.") else app
    assert server.rows("SELECT app_id, path FROM events") == [(expected.id, "/via-domain")]


def test_a_domain_no_app_has_is_ignored(server: LiveServer, app: App, http: httpx.Client) -> None:
    resp = http.get("/p.gif?app=unknown.example,nowhere.example&path=/x")
    assert_gif(resp)
    assert resp.headers["x-footfall-ignored"] == "invalid-app"
    assert server.count() == 0


def test_a_zero_screen_is_unknown_not_junk(
    server: LiveServer, app: App, http: httpx.Client
) -> None:
    resp = http.get("/p.gif?" + snippet_query(app.id, screensize="0x0"))
    assert "x-footfall-ignored" not in resp.headers
    assert server.rows("SELECT screen, path FROM events") == [(None, "/blog/hello world")]


def raw_exchange(port: int, data: bytes) -> bytes:
    """Send bytes on one plain connection and read until the server closes it."""
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_pipelined_head_and_closing_requests_on_one_connection(
    server: LiveServer, app: App
) -> None:
    """The pixel is answered in place by footfall's HTTP protocol: keep-alive, pipelining, HEAD and
    Connection: close behave as HTTP says."""
    get = f"GET /p.gif?app={app.id}&path=/one HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    head = f"HEAD /p.gif?app={app.id}&path=/two HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    last = f"GET /p.gif?app={app.id}&path=/three HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
    reply = raw_exchange(server.port, get + head + last)  # all three in one write
    responses = reply.split(b"HTTP/1.1 200 OK\r\n")[1:]
    assert len(responses) == 3
    assert responses[0].endswith(TRANSPARENT_GIF)
    assert b"content-length: 43\r\n" in responses[1] and responses[1].endswith(
        b"\r\n\r\n"
    )  # HEAD: no body
    assert b"connection: close\r\n" in responses[2] and responses[2].endswith(TRANSPARENT_GIF)
    assert sorted(p for (p,) in server.rows("SELECT path FROM events")) == [
        "/one",
        "/three",
        "/two",
    ]


def test_http_10_gets_its_answer_and_the_connection_closes(server: LiveServer, app: App) -> None:
    reply = raw_exchange(
        server.port, f"GET /p.gif?app={app.id}&path=/old HTTP/1.0\r\n\r\n".encode()
    )
    assert reply.startswith(b"HTTP/1.1 200 OK\r\n") and reply.endswith(TRANSPARENT_GIF)
    assert server.rows("SELECT path FROM events") == [("/old",)]
