"""examples/image_service under a real server: images are counted once, however they are opened."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from footfall.model import App
from tests.integrations.servers import wsgi_server
from tests.live import LiveServer

EXAMPLE = Path(__file__).parents[2] / "examples" / "image_service" / "app.py"
BROWSER_TAB = (
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
)
BROWSER_IMG = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("image_service_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def memes(server: LiveServer, app: App) -> Iterator[tuple[httpx.Client, object]]:
    flask_app = load_example().create_app(server.url, app.id)
    with wsgi_server(flask_app) as url, httpx.Client(base_url=url, timeout=10) as client:
        yield client, flask_app.extensions["footfall"].tracker


def stored(server: LiveServer, tracker: object) -> list[tuple[object, ...]]:
    assert tracker.flush(timeout=10)  # type: ignore[attr-defined]
    return server.rows(
        "SELECT path, referrer, user_agent, status, channel FROM events ORDER BY path, user_agent"
    )


def test_a_browser_tab_gets_a_page_and_its_image_fetch_is_not_counted(
    server: LiveServer, app: App, memes: tuple[httpx.Client, object]
) -> None:
    client, tracker = memes
    page = client.get(
        "/memes/cat-in-box.svg", headers={"Accept": BROWSER_TAB, "User-Agent": FIREFOX}
    )
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["vary"] == "Accept"
    body = page.text
    assert "<title>Cat in box</title>" in body
    assert '<meta name="referrer" content="same-origin">' in body  # so the image fetch says so
    assert '<img src="/memes/cat-in-box.svg"' in body
    assert f'<script defer data-app="{app.id}" src="{server.url}/footfall.js"></script>' in body

    # the page's <img> fetch: Accept image/*, Referer = the page, which is this same URL
    image = client.get(
        "/memes/cat-in-box.svg",
        headers={
            "Accept": BROWSER_IMG,
            "Referer": str(client.base_url) + "/memes/cat-in-box.svg",
            "Sec-Fetch-Dest": "image",
            "User-Agent": FIREFOX,
        },
    )
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/svg+xml; charset=utf-8"
    assert image.text.startswith("<svg") and "IF IT FITS" in image.text
    assert image.headers["vary"] == "Accept"
    assert stored(server, tracker) == []  # the page's own footfall.js beacon counts this view


def test_embedded_images_curl_and_wget_are_counted_once_each(
    server: LiveServer, app: App, memes: tuple[httpx.Client, object]
) -> None:
    client, tracker = memes
    embedded = client.get(
        "/memes/monday-cat.svg",
        headers={
            "Accept": BROWSER_IMG,
            "Referer": "https://forum.example/t/42",
            "User-Agent": FIREFOX,
        },
    )
    curl = client.get(
        "/memes/monday-cat.svg", headers={"Accept": "*/*", "User-Agent": "curl/8.5.0"}
    )
    wget = client.get("/memes/deploy-friday.svg", headers={"User-Agent": "Wget/1.21.4"})
    assert [r.headers["content-type"] for r in (embedded, curl, wget)] == [
        "image/svg+xml; charset=utf-8"
    ] * 3
    client.get("/", headers={"Accept": BROWSER_TAB})  # the site's own HTML page: not server-side
    missing = client.get("/memes/nope.svg", headers={"Accept": BROWSER_TAB})
    assert missing.status_code == 404  # no HTML view for an image that does not exist
    assert stored(server, tracker) == [
        ("/memes/deploy-friday.svg", None, "Wget/1.21.4", 200, "server"),
        ("/memes/monday-cat.svg", "https://forum.example/t/42", FIREFOX, 200, "server"),
        ("/memes/monday-cat.svg", None, "curl/8.5.0", 200, "server"),
    ]


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium")
def test_chromium_opening_an_image_url_gets_the_page_and_is_not_counted_twice(
    server: LiveServer, app: App, tmp_path: Path
) -> None:
    flask_app = load_example().create_app(server.url, app.id)
    requests_seen: list[tuple[str, str, str]] = []
    with_footfall = flask_app.wsgi_app

    def spy(environ: dict[str, object], start_response: object) -> object:
        requests_seen.append(
            (
                str(environ["PATH_INFO"]),
                str(environ.get("HTTP_ACCEPT", "")),
                str(environ.get("HTTP_REFERER", "")),
            )
        )
        return with_footfall(environ, start_response)

    flask_app.wsgi_app = spy
    shot = tmp_path / "view.png"
    with wsgi_server(flask_app) as url:
        page = f"{url}/memes/cat-in-box.svg"
        subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path / 'profile'}",
             "--window-size=800,600", f"--screenshot={shot}", page],
            timeout=90, capture_output=True, check=True,
        )  # fmt: skip
    fetches = [r for r in requests_seen if r[0] == "/memes/cat-in-box.svg"]
    assert len(fetches) == 2
    assert "text/html" in fetches[0][1]  # the tab: answered with the page
    assert "image/" in fetches[1][1] and "text/html" not in fetches[1][1]
    assert fetches[1][2] == page  # the page's <img>: Referer is the same URL
    assert shot.stat().st_size > 5_000
    assert flask_app.extensions["footfall"].tracker.flush(timeout=10)
    assert server.count() == 0  # neither request was recorded server-side
