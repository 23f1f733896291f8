"""Running the ASGI app on uvicorn (uvloop, httptools), with bounded request heads and connections."""

from __future__ import annotations

import json
import logging
import resource
from typing import Any, NamedTuple

from footfall.collect.request import scope_headers
from footfall.http_head import URL_KEEP, parse_simple_get
from footfall.runtime import Runtime
from footfall.settings import Config, SettingError
from footfall.store.remote import socket_path
from footfall.web import create_app
from footfall.workers import CollectorPool, listen_socket

log = logging.getLogger("footfall.server")

LINGER_S = 2.0  # longest a refused connection is read (and dropped) before it is closed


class HeadLimits(NamedTuple):
    """What one connection may make the server hold before its request head is complete."""

    head_bytes: int = 65_536  # header fields of one request, request line excepted
    line: int = 8_192  # one header line
    lines: int = 100  # header lines of one request
    timeout: float = (
        15.0  # seconds from connecting, or from a request's first byte, to its blank line
    )
    connections: int = 1_000  # open connections; one more is answered 503

    @classmethod
    def from_config(cls, config: Config) -> HeadLimits:
        return cls(
            config.max_header_bytes,
            config.max_header_line,
            config.max_headers,
            config.header_timeout,
            config.max_connections,
        )


def error_response(status: int, reason: str, extra: list[tuple[bytes, bytes]]) -> bytes:
    """A whole ``connection: close`` HTTP/1.1 response with a JSON ``{"error": reason}`` body."""
    phrase = {
        408: "Request Timeout",
        431: "Request Header Fields Too Large",
        503: "Service Unavailable",
    }
    body = json.dumps({"error": reason}).encode()
    head = [f"HTTP/1.1 {status} {phrase[status]}".encode()]
    head += [name + b": " + value for name, value in extra]
    head += [b"content-type: application/json", b"content-length: %d" % len(body)]
    head += [b"connection: close", b"", b""]
    return b"\r\n".join(head) + body


def http_protocol(limits: HeadLimits | None = None) -> type:
    """uvicorn's httptools protocol, with a fast path for the pixel, a cap on request targets and
    bounds on request heads and connections.

    The pixel (``HotPaths.sync_responders``) is answered in place: a plain GET/HEAD to it, arriving
    whole while the connection is between requests, is parsed here (``parse_simple_get``) and answered
    without httptools' callbacks, an asyncio task or ASGI messages, its answer written together with
    the others of the same event-loop turn. Every other request, and any pixel request the fast path
    does not take, goes through httptools as usual and is still answered in place (one write) once
    parsed.

    httptools cannot parse targets of 64 KiB or more and uvicorn would answer 400 — yet the pixel must
    answer its GIF even to a megabyte query string. A cut target reaches the endpoint, which ignores it
    as ``too-large``.

    What a client can make a connection hold is bounded by ``limits``, on both paths: a head larger
    than ``head_bytes`` (the request target excepted, it is cut instead), a header line longer than
    ``line`` or more than ``lines`` lines is answered 431 and the connection closed, the moment the
    limit is passed, not when the head ends; a connection that has not sent a whole head
    ``timeout`` seconds after connecting or after its request began is answered 408 and closed; a
    connection beyond ``connections`` open ones is answered 503 and closed.
    """
    bounds = limits or HeadLimits()
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    # Fast-path answers are written together once the loop has run every read callback of its
    # current turn: the same system calls, but the client side wakes up once per batch instead of
    # once per answer (each wake-up costs the sender ~10 µs on a VM).
    unsent_on: list[CappedURLProtocol] = []
    # a head no longer than this passes every bound (a header line takes at least 4 bytes)
    always_within = min(bounds.head_bytes, bounds.line, 4 * bounds.lines)

    def write_unsent() -> None:
        for protocol in unsent_on:
            protocol.write_unsent()
        unsent_on.clear()

    class CappedURLProtocol(HttpToolsProtocol):
        _between_requests = True  # httptools holds no part of a request
        _last_fast = 0.0  # loop time of the last request answered by the fast path
        _unsent = b""  # fast-path answers not written yet (see write_unsent)
        _in_head = True  # a request head is due or under way; False once its blank line is parsed
        _head_received = 0  # bytes fed to httptools since the current head began
        _url_received = 0  # of which belong to the request target
        _header_bytes = 0  # bytes of the current head's complete header lines
        _header_lines = 0
        _began = False  # whether a request began during the current data_received
        _refused = False  # answered by refuse(); closing
        _refusal = ""  # why the request is answered 431, set by a parser callback
        _head_timer: Any = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._responders = getattr(self.app, "sync_responders", None) or {}
            # --spool-fsync always: fast-path answers are written after one fsync a turn
            commit: tuple[Any, Any] = getattr(self.app, "group_commit", None) or (None, None)
            self._deferring, self._commit = commit
            self._fast_paths = {p.encode(): route for p, route in self._responders.items()}
            self._peer = self.client[0] if self.client else ""
            self._secure = self.scheme == "https"
            if len(self.connections) > bounds.connections:
                self.refuse(503, f"more than {bounds.connections} open connections")
                return
            self._head_timer = self.loop.call_later(bounds.timeout, self.head_timed_out)

        def connection_lost(self, exc: Exception | None) -> None:
            self._unsent = b""
            self._cancel_head_timer()
            super().connection_lost(exc)

        def refuse(self, status: int, reason: str) -> None:
            """Answer ``status`` with ``reason`` and close, whatever the connection was doing.

            The close lingers (as nginx's does): the answer is sent and the sending side shut,
            then whatever the client still sends is read and dropped for up to ``LINGER_S``, so
            that closing with unread bytes does not reset the connection before the client has
            read the answer."""
            self._cancel_head_timer()
            if self._refused or self.transport.is_closing():
                return
            self._refused = True
            self.write_unsent()
            self.transport.write(error_response(status, reason, self.server_state.default_headers))
            if self.transport.can_write_eof():
                self.transport.write_eof()
                self.loop.call_later(LINGER_S, self.transport.close)
            else:
                self.transport.close()

        def head_timed_out(self) -> None:
            self._head_timer = None
            if self._in_head:
                self.refuse(408, f"request head not received within {bounds.timeout:g} s")

        def _cancel_head_timer(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def send_400_response(self, msg: str) -> None:
            if self._refusal:  # a header callback raised to stop the parser
                self.refuse(431, self._refusal)
            else:
                super().send_400_response(msg)

        def write_unsent(self) -> None:
            if self._unsent:
                data, self._unsent = self._unsent, b""
                if self._commit is not None:
                    try:
                        self._commit()  # the hits these answers acknowledge are on disk first
                    except OSError as exc:
                        log.error("fsync of the spool failed; closing without answering: %s", exc)
                        self.transport.close()
                        return
                if not self.transport.is_closing():
                    self.transport.write(data)

        def data_received(self, data: bytes) -> None:
            if self._refused:
                return  # answered and closing: dropped unread
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
            self._began = False
            super().data_received(data)
            if self._in_head and not self._began and not self.transport.is_closing():
                # the head is still incomplete: httptools holds what it has of it (a head that
                # began in this chunk is counted from the next one, never by bytes of the last)
                self._head_received += len(data)
                if self._head_received - self._url_received > bounds.head_bytes:
                    self.refuse(431, f"request head larger than {bounds.head_bytes} bytes")

        def _answer_in_place(self, data: bytes) -> bytes:
            """Answer the whole pixel requests at the start of ``data``; return the bytes left."""
            answered = False
            while data:
                request = parse_simple_get(data, URL_KEEP)
                if request is None:
                    break
                size, method, path, query, headers, keep_alive = request
                route = self._fast_paths.get(path)
                if (
                    route is None
                    or method not in route[0]
                    or (size > always_within and not self._head_within_limits(data, size))
                ):
                    break  # httptools takes it, and answers 431 if a limit is passed
                extra = self.server_state.default_headers
                if not keep_alive:
                    extra = [*extra, (b"connection", b"close")]
                if self._deferring is None:
                    response = route[1](
                        method == "HEAD", query, headers, self._peer, self._secure, extra
                    )
                else:
                    with self._deferring():
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
                self._cancel_head_timer()  # httptools re-arms it if a request starts there
                self._in_head = False
                self._last_fast = self.loop.time()
                if self.timeout_keep_alive_task is None:
                    self.timeout_keep_alive_task = self.loop.call_later(
                        self.timeout_keep_alive, self.timeout_keep_alive_handler
                    )
            return data

        @staticmethod
        def _head_within_limits(data: bytes, size: int) -> bool:
            """Whether the request head ``data[:size]`` (request line excepted) is within bounds."""
            fields = data.find(b"\r\n", 0, size) + 2
            if size - fields > min(bounds.head_bytes, bounds.line):  # no line can be longer
                return False
            return data.count(b"\r\n", fields, size) - 1 <= bounds.lines

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
            self._in_head = self._began = True
            self._head_received = self._url_received = 0
            self._header_bytes = self._header_lines = 0
            if self._head_timer is None:
                self._head_timer = self.loop.call_later(bounds.timeout, self.head_timed_out)
            super().on_message_begin()

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._between_requests = True

        def on_url(self, url: bytes) -> None:
            self._url_received += len(url)
            room = URL_KEEP - len(self.url)
            if room > 0:
                self.url += url[:room]

        def on_header(self, name: bytes, value: bytes) -> None:
            line = len(name) + len(value) + 4  # "name: value\r\n", as near as httptools tells
            self._header_bytes += line
            self._header_lines += 1
            if line > bounds.line:
                self._refusal = f"a header line is longer than {bounds.line} bytes"
            elif self._header_lines > bounds.lines:
                self._refusal = f"more than {bounds.lines} header lines"
            elif self._header_bytes > bounds.head_bytes:
                self._refusal = f"request head larger than {bounds.head_bytes} bytes"
            if self._refusal:
                raise ValueError(self._refusal)  # httptools stops; send_400_response answers 431
            super().on_header(name, value)

        def on_headers_complete(self) -> None:
            self._in_head = False
            self._cancel_head_timer()
            super().on_headers_complete()

        def _start_asgi_task(self, cycle: Any, app: Any) -> None:
            """Answer a pixel request that httptools parsed in place too: no task, one socket write."""
            scope = cycle.scope
            route = self._responders.get(scope["path"])
            if route is None or scope["method"] not in route[0] or app is not self.app:
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
        "http": http_protocol(HeadLimits.from_config(config)),
        "lifespan": "on",
        "access_log": False,
        "log_level": config.log_level,
        "server_header": False,
        "proxy_headers": False,  # footfall resolves forwarded headers itself, from trusted proxies only
    }
    options.update(overrides)
    return uvicorn.Config(app, **options)


def raise_open_file_limit(wanted: int) -> None:
    """Let the process hold ``wanted`` descriptors if the hard limit allows (soft limits are often
    1024, below a thousand connections plus the store's files)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def serve(config: Config, runtime: Runtime | None = None) -> None:
    """Serve until SIGTERM/SIGINT; every buffered hit is written before this returns."""
    logging.basicConfig(
        level=config.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    raise_open_file_limit(config.max_connections + 256)
    if config.workers < 1:
        raise SettingError("--workers: at least 1")
    if config.workers > 1 and socket_path(config.db) is None:
        raise SettingError("--workers: more than one needs a database file (its socket)")
    runtime = runtime or Runtime.build(config)
    app = create_app(runtime)
    try:
        import uvicorn

        if config.workers == 1:
            uvicorn.Server(uvicorn_config(app, config)).run()
            return
        sock = listen_socket(config.host, config.port)
        runtime.start()  # the socket the collectors use, before they start
        if runtime.commands is None:
            raise SettingError("--workers: the store's socket could not be made (see the log)")
        pool = CollectorPool(config, config.workers, sock.getsockname()[1])
        runtime.before_close = pool.stop  # they seal their spool segments: close loads them
        pool.start()
        uvicorn.Server(uvicorn_config(app, config)).run(sockets=[sock])
    finally:
        runtime.close()  # normally done by the lifespan shutdown; not every server runs it on a signal
