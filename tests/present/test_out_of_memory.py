"""A question the store cannot afford within DuckDB's memory limit (`--db-memory`) gets a 503 that
says so, never a 500 or a traceback, and nothing is damaged: with room again, the same question
is answered."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from footfall.clock import FrozenClock
from footfall.keys import KeyRing
from footfall.model import App
from tests.live import LiveServer, live_server
from tests.query.dataset import APP_ID, NOW_MS, one_hit_sessions

QUESTION = {"site_id": APP_ID, "period": "day", "property": "event:page", "limit": "10"}


def set_memory_limit(server: LiveServer, limit: str) -> None:
    """What --db-memory sets when the server starts (with no resting limit below it: a statement
    that does not fit has nowhere to go), changed on the running store."""
    server.store.memory.configure("", limit)


@pytest.fixture
def crowded(tmp_path: Path) -> Iterator[tuple[LiveServer, httpx.Client]]:
    with live_server(tmp_path / "m.duckdb", clock=FrozenClock(NOW_MS)) as server:
        server.store.create_app(App(id=APP_ID, name="big", url="https://site.example"))
        server.runtime.apps.reload()
        server.store.insert_events(one_hit_sessions(APP_ID, 50_000, NOW_MS))
        key = KeyRing(server.store, server.clock).create()[1]
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}) as api:
            yield server, api


def test_the_stats_api_answers_503_with_the_reason(
    crowded: tuple[LiveServer, httpx.Client],
) -> None:
    server, api = crowded
    set_memory_limit(server, "2MB")
    r = api.get("/api/v1/stats/breakdown", params=QUESTION)
    assert r.status_code == 503
    error = r.json()["error"]
    assert "not enough memory" in error and "--db-memory" in error


def test_with_room_again_the_same_question_is_answered(
    crowded: tuple[LiveServer, httpx.Client],
) -> None:
    server, api = crowded
    set_memory_limit(server, "2MB")
    assert api.get("/api/v1/stats/breakdown", params=QUESTION).status_code == 503
    set_memory_limit(server, "1GB")
    r = api.get("/api/v1/stats/breakdown", params={**QUESTION, "metrics": "pageviews"})
    assert r.status_code == 200
    assert [row["pageviews"] for row in r.json()["results"]] == [1] * 10
    assert httpx.get(server.url + "/-/health").status_code == 200
    assert server.count(APP_ID) == 50_000
