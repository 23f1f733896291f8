"""WSGI and ASGI middleware: which requests are recorded, with which address, and negotiation."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from footfall.client import Tracker
from footfall.integrations import FootfallASGI, FootfallWSGI, Rules
from footfall.integrations.common import is_follow_up, title_from_path
from footfall.model import App
from tests.integrations.servers import asgi_server, wsgi_server
from tests.live import LiveServer

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    path = environ["PATH_INFO"]
    if path.startswith("/img/"):
        start_response("200 OK", [("Content-Type", "image/png")])
        return [PNG]
    if path.startswith("/api/"):
        start_response("201 Created", [("Content-Type", "application/json")])
        return [b'{"ok": true}']
    start_response("200 OK", [("Content-Type", "text/html")])
    return [b"<p>hello</p>"]


async def image(request: Request) -> Response:
    return Response(PNG, media_type="image/png")


async def api(request: Request) -> Response:
    return JSONResponse({"ok": True}, status_code=201)


async def page(request: Request) -> Response:
    return PlainTextResponse("hello")


asgi_app = Starlette(
    routes=[
        Route("/img/{name}", image),
        Route("/api/{name}", api, methods=["GET", "POST"]),
        Route("/about", page),
    ]
)
RULES = Rules.build(paths=["/api/*"], negotiate=["/img/*"], trusted_proxies=["127.0.0.1/32"])


@pytest.fixture(params=["wsgi", "asgi"])
def site(request: pytest.FixtureRequest, server: LiveServer, app: App) -> Any:
    tracker = Tracker(server.url, app.id)
    if request.param == "wsgi":
        wrapped: Any = FootfallWSGI(
            wsgi_app, tracker, rules=RULES, script_src=server.url + "/footfall.js"
        )
        serve = wsgi_server
    else:
        wrapped = FootfallASGI(
            asgi_app, tracker, rules=RULES, script_src=server.url + "/footfall.js"
        )
        serve = asgi_server
    with serve(wrapped) as url, httpx.Client(base_url=url, timeout=10) as client:
        yield client, tracker
    tracker.close(timeout=5)


def test_images_and_api_routes_are_recorded_with_the_forwarded_client(
    server: LiveServer, site: Any
) -> None:
    client, tracker = site
    client.get(
        "/img/a.png", headers={"X-Forwarded-For": "203.0.113.9, 10.9.9.9", "User-Agent": "curl/8"}
    )
    client.post("/api/things", json={}, headers={"X-Forwarded-For": "198.51.100.7"})
    client.get("/about")  # neither a matched path nor a tracked content type
    assert tracker.flush(timeout=10)
    assert server.rows("SELECT event, path, ip, status, props FROM events ORDER BY path") == [
        ("request", "/api/things", "198.51.100.0", 201, {"method": "POST"}),
        ("pageview", "/img/a.png", "10.9.9.0", 200, None),  # 10.9.9.9 is not a trusted proxy
    ]


def test_the_visitors_user_agent_is_forwarded_and_decides(server: LiveServer, site: Any) -> None:
    client, tracker = site
    chrome = (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
        " Chrome/131.0.0.0 Safari/537.36"
    )
    client.get("/img/a.png", headers={"User-Agent": chrome})
    client.get("/img/b.png", headers={"User-Agent": "curl/8"})  # a bot fetching the image
    assert tracker.flush(timeout=10)
    assert server.rows("SELECT path, browser, device, bot FROM events ORDER BY path") == [
        ("/img/a.png", "Chrome", "desktop", None),
        ("/img/b.png", "curl", "bot", "curl"),
    ]


def test_negotiation_gives_tabs_a_page_and_skips_the_follow_up(
    server: LiveServer, site: Any
) -> None:
    client, tracker = site
    tab = client.get("/img/sunset_over-the_sea.png", headers={"Accept": "text/html,*/*"})
    assert tab.headers["content-type"] == "text/html; charset=utf-8"
    assert "<title>Sunset over the sea</title>" in tab.text
    follow_up = client.get(
        "/img/sunset_over-the_sea.png",
        headers={"Accept": "image/*", "Referer": f"{client.base_url}/img/sunset_over-the_sea.png"},
    )
    assert follow_up.content == PNG and follow_up.headers["vary"] == "Accept"
    assert tracker.flush(timeout=10)
    assert server.count() == 0


@pytest.mark.parametrize(
    ("referer", "expected"),
    [
        ("http://img.example/a.png", True),
        ("http://img.example/a%2Epng", True),
        ("http://IMG.example/a.png", True),
        ("http://img.example/b.png", False),
        ("https://other.example/a.png", False),
        ("", False),
        ("http://[broken/a.png", False),
    ],
)
def test_follow_up_detection(referer: str, expected: bool) -> None:
    assert is_follow_up(referer, "img.example", "/a.png") is expected


def test_titles_from_paths() -> None:
    assert title_from_path("/memes/cat-in_box.png") == "Cat in box"
    assert title_from_path("/x/%C3%A9t%C3%A9.jpeg") == "Été"
    assert title_from_path("/") == "Image"
