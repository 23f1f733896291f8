"""footfall's HTTP protocol: the pixel's fast path takes only plain, whole GET/HEAD requests and
hands everything else to the full parser, so HTTP keeps its meaning on every connection."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from footfall.clock import FrozenClock
from footfall.collect.gif import TRANSPARENT_GIF
from footfall.http_head import URL_KEEP, SimpleGet, parse_simple_get_python
from footfall.model import App
from tests.live import LiveServer, live_server
from tests.speedups import compiled

# -- the fast path's parser ------------------------------------------------------------------------

Parse = Callable[[bytes], SimpleGet | None]


@pytest.fixture(params=["python", "c"])
def parse_simple_get(request: pytest.FixtureRequest) -> Parse:
    """Each parser test runs against the Python parser and the C one (footfall._speedups)."""
    if request.param == "python":
        return parse_simple_get_python
    parse_head = compiled("parse_head")

    def parse_c(data: bytes) -> SimpleGet | None:
        head = parse_head(data, URL_KEEP)
        return None if head is None else SimpleGet(*head)

    return parse_c


def test_a_plain_get_is_split_into_path_query_and_headers(parse_simple_get: Parse) -> None:
    data = (
        b"GET /p.gif?app=x&path=%2F HTTP/1.1\r\nHost: a.example\r\nUser-Agent:  UA 1 \r\n"
        b"Cookie: a=1\r\ncookie: b=2\r\nAccept: x\r\nACCEPT: y\r\n\r\nGET /next"
    )
    request = parse_simple_get(data)
    assert request is not None
    assert (request.method, request.path, request.query) == ("GET", b"/p.gif", b"app=x&path=%2F")
    assert request.headers == {
        "host": "a.example",
        "user-agent": "UA 1",
        "cookie": "a=1; b=2",
        "accept": "x, y",
    }
    assert request.keep_alive
    assert data[request.size :] == b"GET /next"


@pytest.mark.parametrize(
    ("head", "keep_alive"),
    [
        (b"HEAD /p.gif HTTP/1.1\r\n\r\n", True),
        (b"GET /p.gif HTTP/1.1\r\nConnection: keep-alive, Close\r\n\r\n", False),
        (b"GET /p.gif HTTP/1.0\r\n\r\n", False),
        (b"GET /p.gif HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", False),  # as uvicorn does
    ],
)
def test_keep_alive_follows_the_version_and_connection_header(
    parse_simple_get: Parse, head: bytes, keep_alive: bool
) -> None:
    request = parse_simple_get(head)
    assert request is not None and request.keep_alive is keep_alive


@pytest.mark.parametrize(
    "data",
    [
        b"GET /p.gif?app=x HTTP/1.1\r\nHost: a",  # head not complete yet
        b"POST /p.gif HTTP/1.1\r\nContent-Length: 0\r\n\r\n",  # not GET/HEAD
        b"GET /p.gif HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",  # a body
        b"GET /p.gif HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"GET /p.gif HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
        b"GET /p.gif HTTP/1.1\r\nExpect: 100-continue\r\n\r\n",
        b"GET /p.gif HTTP/1.1\r\nHost : a\r\n\r\n",  # space before the colon
        b"GET /p.gif HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",  # obsolete line folding
        b"GET /p.gif HTTP/1.1\r\nNoColon\r\n\r\n",
        b"GET /p.gif HTTP/1.1\r\nX: a\x00b\r\n\r\n",  # NUL in a value
        b"GET /p.gif HTTP/1.1\r\nX: a\nY: b\r\n\r\n",  # bare LF
        b"GET /p.gif?a=\xc3\xa9 HTTP/1.1\r\n\r\n",  # raw non-ASCII in the target
        b"GET /p.gif?a=b#frag HTTP/1.1\r\n\r\n",
        b"GET  /p.gif HTTP/1.1\r\n\r\n",
        b"GET /p.gif HTTP/2.0\r\n\r\n",
        b"get /p.gif HTTP/1.1\r\n\r\n",
        b"GET http://a.example/p.gif HTTP/1.1\r\n\r\n",  # absolute form
        b"GET /p.gif HTTP/1.1\r\nContent-Length: 0\r\ncontent-length: 0\r\n\r\n",  # repeated
        b"GET /p.gif HTTP/1.1\r\nX: \x7f\r\n\r\n",  # DEL
        b"GET /p.gif HTTP/1.1\r\n: empty name\r\n\r\n",
        b"GET /p.gif HTTP/1.1\r\nX: " + b"y" * URL_KEEP + b"\r\n\r\n",  # head past the cap
    ],
)
def test_anything_unusual_is_left_to_the_full_parser(parse_simple_get: Parse, data: bytes) -> None:
    assert parse_simple_get(data) is None


# -- on a real server -----------------------------------------------------------------------------


def exchange(port: int, *writes: bytes, pause: float = 0.05) -> bytes:
    """Send each write separately (a short pause apart), then read until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        for i, data in enumerate(writes):
            if i:
                time.sleep(pause)
            sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def pixel(app: App, path: str, *headers: str) -> bytes:
    lines = [f"GET /p.gif?app={app.id}&path={path} HTTP/1.1", "Host: x", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


CLOSE = "Connection: close"


def stored_paths(server: LiveServer) -> list[str]:
    return sorted(p for (p,) in server.rows("SELECT path FROM events"))


def test_a_head_split_over_two_packets_is_still_answered(server: LiveServer, app: App) -> None:
    data = pixel(app, "/split", CLOSE)
    reply = exchange(server.port, data[:30], data[30:])
    assert reply.startswith(b"HTTP/1.1 200 OK\r\n") and reply.endswith(TRANSPARENT_GIF)
    assert stored_paths(server) == ["/split"]


def test_other_routes_and_the_pixel_share_a_connection_in_order(
    server: LiveServer, app: App
) -> None:
    health = b"GET /-/health HTTP/1.1\r\nHost: x\r\n\r\n"
    reply = exchange(
        server.port,
        pixel(app, "/one") + health + pixel(app, "/two") + health + pixel(app, "/three", CLOSE),
    )
    responses = reply.split(b"HTTP/1.1 ")[1:]
    assert [r[:6] for r in responses] == [b"200 OK"] * 5
    kinds = ["gif" if b"content-type: image/gif" in r else "json" for r in responses]
    assert kinds == ["gif", "json", "gif", "json", "gif"]
    assert stored_paths(server) == ["/one", "/three", "/two"]


def test_a_pixel_request_with_a_body_cannot_smuggle_a_second_request(
    server: LiveServer, app: App
) -> None:
    """The body is framed by the full parser: the bytes inside it are never taken as a request."""
    inner = pixel(app, "/smuggled")
    first = (
        f"GET /p.gif?app={app.id}&path=/outer HTTP/1.1\r\nHost: x\r\n"
        f"Content-Length: {len(inner)}\r\n\r\n"
    ).encode()
    reply = exchange(server.port, first + inner + pixel(app, "/after", CLOSE))
    assert reply.count(b"HTTP/1.1 200 OK") == 2
    assert stored_paths(server) == ["/after", "/outer"]


def test_a_chunked_pixel_request_goes_through_the_full_parser(server: LiveServer, app: App) -> None:
    chunked = (
        f"GET /p.gif?app={app.id}&path=/chunked HTTP/1.1\r\nHost: x\r\n"
        "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
    ).encode()
    reply = exchange(server.port, chunked + pixel(app, "/next", CLOSE))
    assert reply.count(b"HTTP/1.1 200 OK") == 2
    assert stored_paths(server) == ["/chunked", "/next"]


def test_malformed_bytes_after_a_pixel_get_a_400_and_the_pixel_still_counts(
    server: LiveServer, app: App
) -> None:
    reply = exchange(server.port, pixel(app, "/ok") + b"\x00\x01 not http\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"HTTP/1.1 400 Bad Request" in reply
    assert stored_paths(server) == ["/ok"]


@pytest.fixture
def short_keep_alive(db_path: Path) -> Iterator[LiveServer]:
    with live_server(db_path, clock=FrozenClock(), server_options={"timeout_keep_alive": 1}) as srv:
        yield srv


def test_an_idle_connection_is_closed_after_the_keep_alive_timeout(
    short_keep_alive: LiveServer,
) -> None:
    app = short_keep_alive.create_app()
    with socket.create_connection(("127.0.0.1", short_keep_alive.port), timeout=10) as sock:
        started = time.monotonic()
        for i in range(3):  # activity keeps the connection open past the first timeout
            sock.sendall(pixel(app, f"/{i}"))
            assert sock.recv(65536).endswith(TRANSPARENT_GIF)
            time.sleep(0.6)
        assert sock.recv(65536) == b""  # closed by the server once idle for a second
        elapsed = time.monotonic() - started
    assert 2.2 < elapsed < 5
    assert stored_paths(short_keep_alive) == ["/0", "/1", "/2"]


def test_content_length_zero_and_no_headers_are_still_plain(parse_simple_get: Parse) -> None:
    with_zero = parse_simple_get(b"GET /p.gif?a=1 HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
    assert with_zero is not None and with_zero.headers == {"content-length": "0"}
    bare = parse_simple_get(b"GET /p.gif HTTP/1.1\r\n\r\n")
    assert bare is not None and (bare.path, bare.query, bare.headers) == (b"/p.gif", b"", {})


def test_under_fsync_always_one_fsync_covers_a_turns_pixel_answers(db_path: Path) -> None:
    """``--spool-fsync always``: pixel requests arriving together are answered after one fsync
    that covers them all, never before it (the hits are on disk when the GIFs go out)."""
    with live_server(db_path, spool_fsync="always") as srv:
        app = srv.create_app("Synced")
        spool = srv.runtime.buffer.spool
        before = spool.stats()
        requests = b"".join(pixel(app, f"/g{i}") for i in range(49)) + pixel(app, "/g49", CLOSE)
        reply = exchange(srv.port, requests)
        assert reply.count(b"HTTP/1.1 200 OK\r\n") == 50 and b"x-footfall-ignored" not in reply
        after = spool.stats()
        assert after.records - before.records == 50
        assert 1 <= after.fsyncs - before.fsyncs < 10
        srv.runtime.flush()
        assert stored_paths(srv) == sorted(f"/g{i}" for i in range(50))
