"""The dashboard, when DuckDB's memory limit (`--db-memory`) is too small for a page's questions:
a 503 page that says why, with the dashboard's security headers, never a bare 500."""

from __future__ import annotations

import time

import duckdb
import httpx

from footfall.clock import FrozenClock
from tests.live import LiveServer
from tests.query.dataset import one_hit_sessions


def limit_memory(server: LiveServer, most: str) -> None:
    """DuckDB refuses a limit below what it holds at that moment (the insert just made, a
    thread's cache) until it has evicted enough: try again for a while."""
    deadline = time.monotonic() + 10
    while True:
        try:
            server.store.memory.configure("", most)
            return
        except duckdb.OutOfMemoryException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_an_app_page_too_big_for_the_memory_limit_says_so(
    server: LiveServer, owner_http: httpx.Client, clock: FrozenClock
) -> None:
    app = server.create_app("Big", "https://big.example")
    clock.advance(hours=2)
    server.store.insert_events(one_hit_sessions(app.id, 50_000, clock.now_ms()))  # today
    limit_memory(server, "2MB")  # as --db-memory 2MB with no resting limit would
    r = owner_http.get(f"/apps/{app.id}", params={"period": "day"})
    assert r.status_code == 503, (r.status_code, r.text[:2000])
    assert "not enough memory" in r.text and "--db-memory" in r.text
    assert r.headers["content-security-policy"]

    server.store.memory.configure("", "1GB")
    again = owner_http.get(f"/apps/{app.id}", params={"period": "day"})
    assert again.status_code == 200, (again.status_code, again.text[:2000])
    assert "/page/" in again.text
