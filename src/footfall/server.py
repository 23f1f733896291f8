"""Running the ASGI app on a real HTTP server (uvicorn by default, granian optionally)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any, NamedTuple

from footfall.collect.request import add_header, scope_headers
from footfall.runtime import Runtime
from footfall.settings import Config
from footfall.web import create_app

URL_KEEP = 32_768  # bytes of a request target kept; the collect endpoints ignore anything this long

# What the fast path takes on itself; anything else (a body, an upgrade, odd bytes) goes to httptools.
_REQUEST_LINE = re.compile(rb"(GET|HEAD) (/[!-~]*) HTTP/1\.([01])")
_HEADER_BLOCK = re.compile(rb"(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[\t\x20-\x7e\x80-\xff]*\r\n)*")
_FRAMING = ("transfer-encoding", "upgrade", "expect")


class SimpleGet(NamedTuple):
    """One complete, bodiless GET or HEAD request at the start of a buffer."""

    size: int  # bytes of the buffer it takes, blank line included
    method: str
    path: bytes
    query: bytes
    headers: dict[str, str]  # lower-case names; repeats joined by collect.request.add_header
    keep_alive: bool


def parse_simple_get_python(data: bytes, limit: int = URL_KEEP) -> SimpleGet | None:
    """The request at the start of ``data`` if it is a plain GET/HEAD with every byte of its head
    present and nothing unusual about it; None hands the bytes to the full HTTP parser instead.

    ``footfall._speedups.parse_head`` does the same in C (the tests hold the two to identical results);
    ``parse_simple_get`` is whichever is available."""
    end = data.find(b"\r\n\r\n", 0, limit)
    if end < 0:
        return None
    line_end = data.find(b"\r\n", 0, end + 2)
    request = _REQUEST_LINE.fullmatch(data, 0, line_end)
    if request is None or b"#" in request[2]:
        return None
    if _HEADER_BLOCK.fullmatch(data, line_end + 2, end + 2) is None:
        return None
    headers: dict[str, str] = {}
    if line_end < end:
        for line in data[line_end + 2 : end].decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            add_header(headers, name.lower(), value.strip(" \t"))
        if headers.get("content-length", "0") != "0" or any(h in headers for h in _FRAMING):
            return None
    connection = headers.get("connection")
    keep_alive = request[3] == b"1" and not (
        connection and "close" in (t.strip(" \t").lower() for t in connection.split(","))
    )
    path, _, query = request[2].partition(b"?")
    return SimpleGet(end + 4, request[1].decode("ascii"), path, query, headers, keep_alive)


Head = tuple[int, str, bytes, bytes, dict[str, str], bool]  # a SimpleGet's fields, in order


def _compiled_parse_simple_get() -> Callable[[bytes, int], Head | None] | None:
    try:
        from footfall._speedups import parse_head
    except ImportError:
        return None
    return parse_head


# the C parser when it was built, else the Python one: same arguments, same answers
parse_simple_get: Callable[[bytes, int], Head | None] = (
    _compiled_parse_simple_get() or parse_simple_get_python
)


def http_protocol() -> type:
    """uvicorn's httptools protocol, with a fast path for the pixel and a cap on request targets.

    The pixel (``HotPaths.sync_responders``) is answered in place: a plain GET/HEAD to it, arriving
    whole while the connection is between requests, is parsed here (``parse_simple_get``) and answered
    without httptools' callbacks, an asyncio task or ASGI messages, its answer written together with
    the others of the same event-loop turn. Every other request, and any pixel request the fast path
    does not take, goes through httptools as usual and is still answered in place (one write) once
    parsed.

    httptools cannot parse targets of 64 KiB or more and uvicorn would answer 400 — yet the pixel must
    answer its GIF even to a megabyte query string. A cut target reaches the endpoint, which ignores it
    as ``too-large``.
    """
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    # Fast-path answers are written together once the loop has run every read callback of its
    # current turn: the same system calls, but the client side wakes up once per batch instead of
    # once per answer (each wake-up costs the sender ~10 µs on a VM).
    unsent_on: list[CappedURLProtocol] = []

    def write_unsent() -> None:
        for protocol in unsent_on:
            protocol.write_unsent()
        unsent_on.clear()

    class CappedURLProtocol(HttpToolsProtocol):
        _between_requests = True  # httptools holds no part of a request
        _last_fast = 0.0  # loop time of the last request answered by the fast path
        _unsent = b""  # fast-path answers not written yet (see write_unsent)

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._responders = getattr(self.app, "sync_responders", None) or {}
            self._fast_paths = {p.encode(): route for p, route in self._responders.items()}
            self._peer = self.client[0] if self.client else ""
            self._secure = self.scheme == "https"

        def connection_lost(self, exc: Exception | None) -> None:
            self._unsent = b""
            super().connection_lost(exc)

        def write_unsent(self) -> None:
            if self._unsent:
                data, self._unsent = self._unsent, b""
                if not self.transport.is_closing():
                    self.transport.write(data)

        def data_received(self, data: bytes) -> None:
            if (
                self._between_requests
                and self._fast_paths
                and (self.cycle is None or self.cycle.response_complete)
                and not self.pipeline
                and not self.flow.write_paused
                and not self.transport.is_closing()
            ):
                data = self._answer_in_place(data)
                if not data:
                    return
            self.write_unsent()  # whatever answers next goes out after the earlier answers
            super().data_received(data)

        def _answer_in_place(self, data: bytes) -> bytes:
            """Answer the whole pixel requests at the start of ``data``; return the bytes left."""
            answered = False
            while data:
                request = parse_simple_get(data, URL_KEEP)
                if request is None:
                    break
                size, method, path, query, headers, keep_alive = request
                route = self._fast_paths.get(path)
                if route is None or method not in route[0]:
                    break
                extra = self.server_state.default_headers
                if not keep_alive:
                    extra = [*extra, (b"connection", b"close")]
                response = route[1](
                    method == "HEAD", query, headers, self._peer, self._secure, extra
                )
                self.server_state.total_requests += 1
                answered = True
                if not keep_alive:
                    self._unsent += response
                    self.write_unsent()
                    self.transport.close()
                    return b""
                if not self._unsent:
                    if not unsent_on:
                        self.loop.call_soon(write_unsent)
                    unsent_on.append(self)
                self._unsent += response
                data = data[size:]
            if answered:
                self._last_fast = self.loop.time()
                if self.timeout_keep_alive_task is None:
                    self.timeout_keep_alive_task = self.loop.call_later(
                        self.timeout_keep_alive, self.timeout_keep_alive_handler
                    )
            return data

        def timeout_keep_alive_handler(self) -> None:
            idle = self.loop.time() - self._last_fast
            if idle < self.timeout_keep_alive:  # the fast path answered since this was armed
                self.timeout_keep_alive_task = self.loop.call_later(
                    self.timeout_keep_alive - idle, self.timeout_keep_alive_handler
                )
                return
            super().timeout_keep_alive_handler()

        def on_message_begin(self) -> None:
            self._between_requests = False
            super().on_message_begin()

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._between_requests = True

        def on_url(self, url: bytes) -> None:
            room = URL_KEEP - len(self.url)
            if room > 0:
                self.url += url[:room]

        def _start_asgi_task(self, cycle: Any, app: Any) -> None:
            """Answer a pixel request that httptools parsed in place too: no task, one socket write."""
            scope = cycle.scope
            route = self._responders.get(scope["path"])
            if route is None or scope["method"] not in route[0]:
                super()._start_asgi_task(cycle, app)
                return
            extra = list(self.server_state.default_headers)
            if not cycle.keep_alive:
                extra.append((b"connection", b"close"))
            cycle.response_started = True
            cycle.response_complete = True
            response = route[1](
                scope["method"] == "HEAD",
                scope["query_string"],
                scope_headers(scope),
                self._peer,
                self._secure,
                extra,
            )
            cycle.transport.write(response)
            if not cycle.keep_alive:
                cycle.transport.close()
            cycle.on_response()

    return CappedURLProtocol


def uvicorn_config(app: Any, config: Config, **overrides: Any) -> Any:
    import uvicorn

    options: dict[str, Any] = {
        "host": config.host,
        "port": config.port,
        "loop": "uvloop",
        "http": http_protocol(),
        "lifespan": "on",
        "access_log": False,
        "log_level": config.log_level,
        "server_header": False,
        "proxy_headers": False,  # footfall resolves forwarded headers itself, from trusted proxies only
    }
    options.update(overrides)
    return uvicorn.Config(app, **options)


def serve(config: Config, runtime: Runtime | None = None) -> None:
    """Serve until SIGTERM/SIGINT; every buffered hit is written before this returns."""
    logging.basicConfig(
        level=config.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    runtime = runtime or Runtime.build(config)
    app = create_app(runtime)
    try:
        if config.server == "granian":
            _serve_granian(config, app)
        else:
            import uvicorn

            uvicorn.Server(uvicorn_config(app, config)).run()
    finally:
        runtime.close()  # normally done by the lifespan shutdown; not every server runs it on a signal


def _serve_granian(config: Config, app: object) -> None:
    try:
        from granian.constants import Interfaces
        from granian.server.embed import Server
    except ImportError as exc:
        raise SystemExit("granian is not installed: pip install 'footfall[granian]'") from exc
    import asyncio
    import signal

    server = Server(app, address=config.host, port=config.port, interface=Interfaces.ASGI)

    async def main() -> None:
        # the embedded server installs no signal handlers: stop it gracefully ourselves
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, server.stop)
        await server.serve()

    asyncio.run(main())
