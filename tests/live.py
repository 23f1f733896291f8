"""A real footfall server on 127.0.0.1 for tests: uvicorn in a thread, with a clock the test controls."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

from footfall.clock import Clock, FrozenClock
from footfall.dashboard.site import DashboardOptions
from footfall.model import App, IdentityMode
from footfall.runtime import Runtime
from footfall.server import uvicorn_config
from footfall.settings import Config
from footfall.web import create_app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    def __init__(self, runtime: Runtime, port: int) -> None:
        self.runtime = runtime
        self.port = port
        self.url = f"http://127.0.0.1:{port}"

    @property
    def store(self) -> Any:
        return self.runtime.store

    @property
    def clock(self) -> Clock:
        return self.runtime.clock

    def create_app(
        self,
        name: str = "Test site",
        url: str = "https://site.example",
        identity: IdentityMode = "cookieless",
    ) -> App:
        return self.runtime.apps.create(name, url, identity)

    def flush(self) -> int:
        """Write buffered hits now (the background timer would do it within a second)."""
        return self.runtime.flush()

    def rows(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        self.flush()
        return self.runtime.store.fetch(sql, params or [])

    def count(self, app_id: str | None = None) -> int:
        self.flush()
        return self.runtime.store.count_events(app_id)


@contextmanager
def live_server(
    db: Path,
    *,
    clock: Clock | None = None,
    port: int | None = None,
    server_options: dict[str, Any] | None = None,
    dashboard: DashboardOptions | None = None,
    **config: Any,
) -> Iterator[LiveServer]:
    """``config``: footfall settings; ``server_options``: uvicorn's (e.g. ``timeout_keep_alive``)."""
    port = port or free_port()
    cfg = Config(db=str(db), port=port, flush_interval=60.0, **config)  # tests flush explicitly
    runtime = Runtime.build(cfg, clock=clock or FrozenClock())
    server = uvicorn.Server(
        uvicorn_config(
            create_app(runtime, dashboard=dashboard),
            cfg,
            **{"log_level": "warning", **(server_options or {})},
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.01)
    try:
        yield LiveServer(runtime, port)
    finally:
        server.should_exit = True
        thread.join(10)
