"""A real browser against a real footfall server and a real test site on another origin.

One Chromium per module (start-up is the slow part); a fresh browser context per test, so cookies and
init scripts never leak between tests. The test site runs on http://localhost:PORT and footfall on
http://127.0.0.1:PORT2 — different origins and sites, as on the web.
"""

from __future__ import annotations

import html
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from footfall.clock import FrozenClock
from tests.live import LiveServer, free_port, live_server

CHROMIUM = Path(os.environ.get("FOOTFALL_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


class LocalSite:
    """A tiny web server for test pages: registered pages, downloadable files, 204 for the rest."""

    def __init__(self) -> None:
        self.pages: dict[str, tuple[str, bytes]] = {}  # path -> (content type, body)
        self.port = free_port()
        self.origin = f"http://localhost:{self.port}"
        # the same server under another host name: a link there is an outbound link
        self.other_origin = f"http://127.0.0.1:{self.port}"
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0].split("#", 1)[0]
                if path in pages:
                    self._answer(200, *pages[path])
                elif path.startswith("/files/"):
                    self._answer(200, "application/octet-stream", b"%PDF-1.4\n", attachment=True)
                else:
                    self._answer(204, "text/plain", b"")

            def _answer(
                self, status: int, ctype: str, body: bytes, attachment: bool = False
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                if attachment:
                    self.send_header("Content-Disposition", "attachment")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def page(self, path: str, body: str = "", head: str = "", title: str = "Test page") -> str:
        """Register a page; returns its URL."""
        document = (
            f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"{head}</head><body>{body}</body></html>"
        )
        return self.file(path, "text/html; charset=utf-8", document.encode())

    def file(self, path: str, content_type: str, body: bytes) -> str:
        """Register any other resource; returns its URL."""
        self.pages[path] = (content_type, body)
        return self.origin + path


def tracker_tag(server: LiveServer, app_id: str, *attrs: str) -> str:
    """The script tag as the snippet prints it, plus extra data- attributes."""
    extra = "".join(" " + a for a in attrs)
    return f'<script defer data-app="{app_id}"{extra} src="{server.url}/footfall.js"></script>'


def wait_rows(
    server: LiveServer, sql: str, params: list[Any], n: int, timeout: float = 10.0
) -> list[tuple[Any, ...]]:
    """Poll the store (flushing the buffer) until the query returns at least ``n`` rows."""
    deadline = time.monotonic() + timeout
    while True:
        rows = server.rows(sql, params)
        if len(rows) >= n or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    db = tmp_path_factory.mktemp("browser") / "footfall.duckdb"
    with live_server(db, clock=FrozenClock()) as srv:
        yield srv


@pytest.fixture(scope="module")
def site() -> Iterator[LocalSite]:
    s = LocalSite()
    s.thread.start()
    yield s
    s.httpd.shutdown()
    s.httpd.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium; .ci/run does)")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is missing (pip install -e '.[dev]')"
    )
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def context_options() -> dict[str, Any]:
    """Per-test browser context settings; a test overrides it to emulate another device."""
    return {}


@pytest.fixture
def page(browser: Any, context_options: dict[str, Any]) -> Iterator[Any]:
    context = browser.new_context(**context_options)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()
