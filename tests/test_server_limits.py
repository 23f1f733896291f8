"""What a client can make the server hold is bounded: request heads, the time to send them, and
connections. Real servers, raw sockets."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from footfall.clock import FrozenClock
from footfall.model import App
from footfall.server import HeadLimits
from footfall.settings import Config
from tests.live import LiveServer, free_port, live_server
from tests.test_durability import start_server


def send_and_read(port: int, data: bytes, timeout: float = 10) -> bytes:
    """Send ``data`` (the server may stop reading part-way) and return everything answered."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        return read_all(sock)


def read_all(sock: socket.socket) -> bytes:
    chunks = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    except ConnectionResetError:
        pass
    return b"".join(chunks)


def refusal(reply: bytes) -> tuple[int, str]:
    """The status and JSON ``error`` of a refusal, which must close the connection."""
    head, _, body = reply.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert "connection: close" in [line.lower() for line in lines[1:]]
    assert "content-type: application/json" in [line.lower() for line in lines[1:]]
    return int(lines[0].split()[1]), json.loads(body)["error"]


def request(target: str, *headers: str) -> bytes:
    return ("\r\n".join([f"GET {target} HTTP/1.1", "Host: x", *headers]) + "\r\n\r\n").encode()


def pixel_target(app: App, path: str = "/") -> str:
    return f"/p.gif?app={app.id}&path={path}"


@pytest.fixture
def app(server: LiveServer) -> App:
    return server.create_app()


@pytest.mark.parametrize("target", ["pixel", "/-/health"])
def test_a_megabyte_header_is_refused_with_431(server: LiveServer, app: App, target: str) -> None:
    path = pixel_target(app) if target == "pixel" else target
    reply = send_and_read(server.port, request(path, "X-Big: " + "a" * 1_000_000))
    status, reason = refusal(reply)
    assert status == 431 and reason == "request head larger than 65536 bytes"
    assert server.count() == 0


def test_ten_thousand_header_lines_are_refused(server: LiveServer, app: App) -> None:
    lines = [f"X-{i}: v" for i in range(10_000)]
    assert refusal(send_and_read(server.port, request(pixel_target(app), *lines))) == (
        431,
        "more than 100 header lines",
    )
    assert server.count() == 0


@pytest.mark.parametrize("count", [101, 500])
def test_a_small_head_with_too_many_lines_is_refused_on_the_pixel_fast_path_too(
    server: LiveServer, app: App, count: int
) -> None:
    """A whole plain GET the fast path would take: it hands it to the full parser, which refuses."""
    lines = ["A: b"] * (count - 1)  # with Host, ``count`` lines: about 3 KB at most
    reply = send_and_read(server.port, request(pixel_target(app), *lines))
    assert refusal(reply) == (431, "more than 100 header lines")
    assert server.count() == 0


def test_a_hundred_header_lines_are_accepted(server: LiveServer, app: App) -> None:
    lines = ["A: b"] * 98 + ["Connection: close"]
    reply = send_and_read(server.port, request(pixel_target(app, "/hundred"), *lines))
    assert reply.startswith(b"HTTP/1.1 200 OK\r\n")
    assert server.count() == 1


@pytest.mark.parametrize("target", ["pixel", "/-/health"])
def test_a_header_line_over_8_kib_is_refused(server: LiveServer, app: App, target: str) -> None:
    path = pixel_target(app) if target == "pixel" else target
    reply = send_and_read(server.port, request(path, "Cookie: " + "c" * 9_000))
    assert refusal(reply) == (431, "a header line is longer than 8192 bytes")


def test_a_long_request_target_is_not_a_long_header(server: LiveServer, app: App) -> None:
    """The pixel cuts a megabyte query string and still answers its GIF (ignored as too large)."""
    target = pixel_target(app) + "&x=" + "q" * 1_000_000
    reply = send_and_read(server.port, request(target, "Connection: close"))
    assert reply.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"x-footfall-ignored: too-large" in reply.lower()


def test_the_limits_are_settings(db_path: Path) -> None:
    with live_server(db_path, max_headers=3, max_header_line=100) as srv:
        app = srv.create_app()
        target = pixel_target(app)
        assert refusal(send_and_read(srv.port, request(target, "A: b", "C: d", "E: f")))[0] == 431
        assert refusal(send_and_read(srv.port, request(target, "A: " + "b" * 100)))[0] == 431
        ok = send_and_read(srv.port, request(target, "Connection: close", "A: " + "b" * 80))
        assert ok.startswith(b"HTTP/1.1 200 OK\r\n")


@pytest.fixture
def quick_timeout(db_path: Path) -> Iterator[LiveServer]:
    with live_server(db_path, clock=FrozenClock(), header_timeout=1.0) as srv:
        yield srv


@pytest.mark.parametrize("sent", [b"", b"GET /p.gif?app=x HT", b"GET / HTTP/1.1\r\nHost: x\r\nA:"])
def test_a_head_not_sent_in_time_is_answered_408_and_closed(
    quick_timeout: LiveServer, sent: bytes
) -> None:
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", quick_timeout.port), timeout=10) as sock:
        sock.sendall(sent)
        status, reason = refusal(read_all(sock))
    assert (status, reason) == (408, "request head not received within 1 s")
    assert 0.9 < time.monotonic() - started < 4


def test_the_head_timeout_applies_to_each_request_of_a_connection(
    quick_timeout: LiveServer,
) -> None:
    app = quick_timeout.create_app()
    with socket.create_connection(("127.0.0.1", quick_timeout.port), timeout=10) as sock:
        for i in range(3):  # whole requests, one every 0.6 s: more than a second in all
            sock.sendall(request(pixel_target(app, f"/{i}")))
            assert sock.recv(65536).startswith(b"HTTP/1.1 200 OK\r\n")
            time.sleep(0.6)
        sock.sendall(b"GET /-/health HTTP/1.1\r\nHo")
        status, _ = refusal(read_all(sock))
    assert status == 408
    assert quick_timeout.count() == 3


def test_the_health_check_answers_before_the_head_timeout(quick_timeout: LiveServer) -> None:
    with socket.create_connection(("127.0.0.1", quick_timeout.port), timeout=10) as sock:
        time.sleep(0.5)
        sock.sendall(request("/-/health", "Connection: close"))
        assert read_all(sock).startswith(b"HTTP/1.1 200 OK\r\n")


def test_a_connection_past_the_limit_is_answered_503(db_path: Path) -> None:
    with live_server(db_path, max_connections=4) as srv:
        held = [socket.create_connection(("127.0.0.1", srv.port), timeout=10) for _ in range(4)]
        try:
            time.sleep(0.2)  # the server has accepted them
            reply = send_and_read(srv.port, request("/-/health", "Connection: close"))
            assert refusal(reply) == (503, "more than 4 open connections")
            held.pop().close()
            time.sleep(0.2)
            reply = send_and_read(srv.port, request("/-/health", "Connection: close"))
            assert reply.startswith(b"HTTP/1.1 200 OK\r\n")
        finally:
            for sock in held:
                sock.close()


def vm_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


def test_three_hundred_unfinished_4_mb_heads_keep_the_server_small(tmp_path: Path) -> None:
    """Each connection sends a 4 MB header and never finishes it: refused at 64 KiB each."""
    db = tmp_path / "f.duckdb"
    port = free_port()
    proc = start_server(db, port)
    try:
        header = b"GET /p.gif HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (4 << 20)
        replies: list[bytes] = []

        def flood() -> None:
            with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
                try:
                    sock.sendall(header)
                except OSError:
                    pass
                replies.append(read_all(sock)[:12])

        threads = [threading.Thread(target=flood) for _ in range(300)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        peak_mb = vm_kb(proc.pid, "VmHWM") / 1024
        assert peak_mb < 400, f"peak RSS {peak_mb:.0f} MB"
        assert replies.count(b"HTTP/1.1 431") == 300
        assert httpx.get(f"http://127.0.0.1:{port}/-/health").status_code == 200
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def test_the_protocol_defaults_are_the_settings_defaults() -> None:
    assert HeadLimits.from_config(Config()) == HeadLimits()
