"""A full spool: nothing is acknowledged that is not on disk. The pixel still answers its GIF and
says why; the JSON and Measurement Protocol endpoints answer 503 with Retry-After, and every
endpoint takes hits again once the store has caught up."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from footfall.model import App
from tests.live import LiveServer, live_server


@pytest.fixture
def full(tmp_path: Path) -> Iterator[tuple[LiveServer, App, httpx.Client]]:
    with live_server(tmp_path / "f.duckdb", spool_max="4KB") as server:
        app = server.create_app()
        with httpx.Client(base_url=server.url) as http:
            while "x-footfall-ignored" not in http.get(f"/p.gif?app={app.id}").headers:
                pass
            yield server, app, http


def test_the_pixel_answers_its_gif_and_names_the_reason(
    full: tuple[LiveServer, App, httpx.Client],
) -> None:
    server, app, http = full
    resp = http.get(f"/p.gif?app={app.id}&path=/refused")
    assert resp.status_code == 200 and resp.headers["content-type"] == "image/gif"
    assert resp.headers["x-footfall-ignored"] == "spool-full"
    assert not server.rows("SELECT * FROM events WHERE path = '/refused'")


def test_json_and_measurement_protocol_hits_get_503_and_retry_after(
    full: tuple[LiveServer, App, httpx.Client],
) -> None:
    _, app, http = full
    answers = [
        http.post("/api/event", json={"app": app.id, "url": "https://site.example/x"}),
        http.get("/collect", params={"v": "1", "tid": app.id, "cid": "555", "t": "pageview"}),
        http.post(
            "/batch",
            content=f"v=1&tid={app.id}&cid=555&t=pageview\nv=1&tid={app.id}&cid=5&t=event&ec=a&ea=b",
        ),
        http.post(
            f"/mp/collect?measurement_id={app.id}&api_secret={app.api_secret}",
            json={"client_id": "555.1", "events": [{"name": "page_view"}]},
        ),
        http.post(
            f"/g/collect?v=2&tid={app.id}&cid=555.1&dl=https%3A%2F%2Fsite.example%2F",
            content="en=page_view\nen=scroll",
        ),
    ]
    for resp in answers:
        assert resp.status_code == 503, (resp.request.url, resp.text)
        assert resp.headers["retry-after"] == "5"
        assert resp.json()["reason"] == "spool-full"


def test_hits_are_taken_again_once_the_store_has_the_spooled_ones(
    full: tuple[LiveServer, App, httpx.Client],
) -> None:
    server, app, http = full
    before = server.count()  # flushes: the spool is empty again
    resp = http.post("/api/event", json={"app": app.id, "url": "https://site.example/again"})
    assert resp.status_code == 202 and resp.json() == {"status": "accepted"}
    assert server.count() == before + 1
