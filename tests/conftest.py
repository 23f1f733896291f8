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
