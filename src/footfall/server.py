"""Running the ASGI app on a real HTTP server (uvicorn by default, granian optionally)."""

from __future__ import annotations

import logging
from typing import Any

from footfall.runtime import Runtime
from footfall.settings import Config
from footfall.web import create_app

URL_KEEP = 32_768  # bytes of a request target kept; the collect endpoints ignore anything this long


def http_protocol() -> type:
    """uvicorn's httptools protocol, but keeping at most URL_KEEP bytes of a request target.

    httptools cannot parse targets of 64 KiB or more and uvicorn would answer 400 — yet the pixel must answer
    its GIF even to a megabyte query string. A cut target reaches the endpoint, which ignores it as
    ``too-large``. The pixel (``HotPaths.sync_responders``) is answered in place, without an asyncio
    task or ASGI messages per request: its work is synchronous and its response is a few hundred bytes.
    """
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class CappedURLProtocol(HttpToolsProtocol):
        def on_url(self, url: bytes) -> None:
            room = URL_KEEP - len(self.url)
            if room > 0:
                self.url += url[:room]

        def _start_asgi_task(self, cycle: Any, app: Any) -> None:
            """Answer the pixel in place: no task, no ASGI messages, one socket write."""
            responders = getattr(app, "sync_responders", None)
            route = responders.get(cycle.scope["path"]) if responders else None
            if route is None or cycle.scope["method"] not in route[0]:
                super()._start_asgi_task(cycle, app)
                return
            extra = list(self.server_state.default_headers)
            if not cycle.keep_alive:
                extra.append((b"connection", b"close"))
            cycle.response_started = True
            cycle.response_complete = True
            cycle.transport.write(route[1](cycle.scope, extra))
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
