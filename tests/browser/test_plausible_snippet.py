"""A site's Plausible snippet, with only the host changed to footfall's, in headless Chromium.

The test site is visited as ``http://shop.example:PORT`` (Chromium resolves the name to the test
site): a host that is not local, so the snippet needs no ``script.local.js``, and the app is found
by its site's domain.
Run alone with ``pytest -m browser`` (``make test-browser``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from footfall.model import App
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, LocalSite, wait_rows
from tests.live import LiveServer

pytestmark = pytest.mark.browser

SITE_HOST = "shop.example"
OTHER_HOST = "elsewhere.example"
PLAUSIBLE_STUB = (
    "<script>window.plausible = window.plausible || function() {"
    " (window.plausible.q = window.plausible.q || []).push(arguments) }</script>"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium resolving the test hosts to 127.0.0.1, where the test site runs: a page on a name
    that is not local, whose requests to footfall on 127.0.0.1 Chromium still allows (it blocks a
    public page's requests to the loopback address — Private Network Access)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium; .ci/run does)")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is missing (pip install -e '.[dev]')"
    )
    rules = f"--host-resolver-rules=MAP {SITE_HOST} 127.0.0.1, MAP {OTHER_HOST} 127.0.0.1"
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, rules])
        yield chromium
        chromium.close()


def on_host(site: LocalSite, url: str, host: str = SITE_HOST) -> str:
    """``url`` on the test site, under another host name that resolves to it."""
    return url.replace(site.origin, f"http://{host}:{site.port}")


def stored(server: LiveServer, app: App, n: int) -> list[tuple[Any, ...]]:
    rows = wait_rows(server, "SELECT event, path, props FROM events WHERE app_id = ?", [app.id], n)
    return sorted(rows, key=repr)


def test_plausibles_snippet_with_the_host_changed_counts_pageviews_events_and_outbound_links(
    server: LiveServer, site: LocalSite, page: Any
) -> None:
    app = server.create_app("Shop", "https://shop.example")
    head = (
        f'<script defer data-domain="{SITE_HOST}" src="{server.url}/js/script.outbound-links.js">'
        "</script>" + PLAUSIBLE_STUB + "<script>plausible('Signup', {props: {plan: 'pro'}});"
        " plausible('Purchase', {revenue: {amount: 10.29, currency: 'EUR'}, props: {sku: 'A1'}});"
        " plausible('Subscribed', {callback: function () { window.calledBack = true }});</script>"
    )
    elsewhere = on_host(site, site.page("/landing", title="Elsewhere"), OTHER_HOST)
    body = f"<a id=out href='{elsewhere}'>elsewhere</a>"
    page.goto(on_host(site, site.page("/pricing", body=body, head=head)))
    page.wait_for_function("window.calledBack === true")
    page.evaluate("plausible('Later', {props: {step: 2}})")
    page.click("#out")
    page.wait_for_url(elsewhere)
    assert stored(server, app, 6) == [
        ("Later", "/pricing", {"step": "2"}),
        (
            "Purchase",
            "/pricing",
            {"revenue_amount": "10.29", "revenue_currency": "EUR", "sku": "A1"},
        ),
        ("Signup", "/pricing", {"plan": "pro"}),
        ("Subscribed", "/pricing", None),
        ("outbound", "/pricing", {"url": elsewhere}),
        ("pageview", "/pricing", None),
    ]
    assert server.rows(
        "SELECT DISTINCT hostname, channel FROM events WHERE app_id = ?", [app.id]
    ) == [("shop.example", "api")]


def test_hash_extension_and_data_api_behind_a_proxy_path(
    server: LiveServer, site: LocalSite, page: Any
) -> None:
    """``script.hash.js`` counts hash changes; ``data-api`` (Plausible's endpoint) sets where hits
    go when the site passes the script through a path of its own; the first known domain of a
    list names the app."""
    app = server.create_app("Docs", "https://docs.shop.example")
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url))
    # the site's own proxy path /stats/js/… serves the script it got from footfall
    script = site.file(
        "/stats/js/script.hash.js",
        "text/javascript",
        page.request.get(f"{server.url}/js/script.hash.js").body(),
    )
    head = (
        '<script defer data-domain="gone.example,docs.shop.example"'
        f' data-api="{server.url}/api/event" src="{on_host(site, script)}"></script>'
    )
    page.goto(on_host(site, site.page("/docs", head=head)) + "#/intro")
    page.evaluate("location.hash = '#/setup'")
    assert stored(server, app, 2) == [
        ("pageview", "/docs#/intro", None),
        ("pageview", "/docs#/setup", None),
    ]
    assert [url for url in sent if "/api/event" in url] == [f"{server.url}/api/event"] * 2


def test_tagged_elements_send_their_event_and_props(
    server: LiveServer, site: LocalSite, page: Any
) -> None:
    """``script.tagged-events.js``: a click on a tagged element (or inside one), and the submit
    of a tagged form, send the class's event name (``+`` a space) and props; a click inside a
    tagged form sends nothing by itself, and untagged elements send nothing."""
    app = server.create_app("Tagged", "https://tagged.example")
    head = (
        '<script defer data-domain="tagged.example"'
        f' src="{server.url}/js/script.tagged-events.js"></script>'
    )
    body = (
        "<button id=cta class='big plausible-event-name=Sign+Up plausible-event-plan=pro'>"
        "<span id=inner>Sign up</span></button>"
        "<button id=plain>nothing</button>"
        "<form id=form class='plausible-event-name=Form+Submit plausible-event-position=footer'"
        " onsubmit='event.preventDefault()'><input id=field><button id=send>Send</button></form>"
    )
    page.goto(on_host(site, site.page("/join", body=body, head=head)))
    page.wait_for_function("typeof window.plausible === 'function'")
    page.click("#inner")
    page.click("#plain")
    page.click("#field")
    page.click("#send")  # submits the form
    assert stored(server, app, 3) == [
        ("Form Submit", "/join", {"position": "footer"}),
        ("Sign Up", "/join", {"plan": "pro"}),
        ("pageview", "/join", None),
    ]
