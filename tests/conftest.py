from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from footfall.clock import FrozenClock
from footfall.model import App
from tests.live import LiveServer, live_server


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "footfall.duckdb"


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def server(db_path: Path, clock: FrozenClock) -> Iterator[LiveServer]:
    with live_server(db_path, clock=clock) as srv:
        yield srv


@pytest.fixture
def app(server: LiveServer) -> App:
    return server.create_app()


@pytest.fixture
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


@pytest.fixture
def proxied(db_path: Path, clock: FrozenClock) -> Iterator[LiveServer]:
    """A server behind a trusted proxy on 127.0.0.1, so tests choose the client address
    (with ``X-Forwarded-For``)."""
    with live_server(db_path, clock=clock, trusted_proxies=("127.0.0.1",)) as srv:
        yield srv


@pytest.fixture
def client(proxied: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=proxied.url, timeout=10) as c:
        yield c
