"""A site's Umami snippet with only the host changed to footfall's, in headless Chromium:
``<script defer src="https://footfall.example/script.js" data-website-id="UUID">``.

The website id is the one the site had in Umami, kept as an alias of the footfall app
(``footfall apps alias``). The test site is visited as ``http://shop.example:PORT``, a host that
is not local (see test_plausible_snippet). Run alone with ``pytest -m browser``.
"""

from __future__ import annotations

from typing import Any

import pytest

from footfall.model import App
from tests.browser.conftest import LocalSite, wait_rows
from tests.browser.test_plausible_snippet import SITE_HOST, browser, on_host
from tests.live import LiveServer

pytestmark = pytest.mark.browser
__all__ = ["browser"]  # the fixture: Chromium resolving the test hosts

WEBSITE_ID = "0f0c7b2e-5d8a-4a53-9a51-6f1e3c2b7d44"  # the site's old Umami website id


def umami_app(server: LiveServer, name: str, url: str, website_id: str) -> App:
    app = server.create_app(name, url)
    app.aliases = [website_id]
    server.runtime.apps.save(app)
    return app


def stored(server: LiveServer, app: App, n: int) -> list[tuple[Any, ...]]:
    rows = wait_rows(server, "SELECT event, path, props FROM events WHERE app_id = ?", [app.id], n)
    return sorted(rows, key=repr)


def test_umamis_snippet_with_the_host_changed_counts_pageviews_events_and_clicks(
    server: LiveServer, site: LocalSite, page: Any
) -> None:
    app = umami_app(server, "Umami shop", f"https://{SITE_HOST}", WEBSITE_ID)
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url))
    head = (
        f'<script defer src="{server.url}/script.js" data-website-id="{WEBSITE_ID}"></script>'
        "<script>addEventListener('load', () => {"
        " umami.track('Purchase', {sku: 'A1'});"
        " history.pushState({}, '', '/pricing/annual');"
        " window.ready = true })</script>"
    )
    body = "<button id=signup data-umami-event=Signup data-umami-event-plan=pro>Sign up</button>"
    page.goto(on_host(site, site.page("/pricing", body=body, head=head)))
    page.wait_for_function("window.ready === true")
    page.click("#signup")
    assert stored(server, app, 4) == [
        ("Purchase", "/pricing", {"sku": "A1"}),
        ("Signup", "/pricing/annual", {"plan": "pro"}),
        ("pageview", "/pricing", None),
        ("pageview", "/pricing/annual", None),
    ]
    to_footfall = sorted(url for url in sent if url.startswith(server.url + "/api/"))
    assert to_footfall == [f"{server.url}/api/event"] * 2 + [f"{server.url}/api/send"] * 2


def test_pages_of_other_domains_send_nothing(
    server: LiveServer, site: LocalSite, page: Any
) -> None:
    """``data-domains`` lists where the snippet counts: elsewhere, no request is made at all."""
    website_id = "7a1d3f52-1c0e-4b7a-8f3e-2d9c6b5a4e10"
    app = umami_app(server, "Elsewhere", "https://elsewhere.example", website_id)
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url))
    head = (
        f'<script defer src="{server.url}/script.js" data-website-id="{website_id}"'
        ' data-domains="elsewhere.example, www.elsewhere.example"></script>'
        "<script>addEventListener('load', () => { umami.track('Signup');"
        " window.ready = true })</script>"
    )
    page.goto(on_host(site, site.page("/pricing", head=head)))
    page.wait_for_function("window.ready === true")
    page.wait_for_load_state("networkidle")
    assert [url for url in sent if "/api/" in url] == []
    assert server.count(app.id) == 0


def test_auto_track_off_leaves_tracking_to_the_page_through_a_proxy(
    server: LiveServer, site: LocalSite, page: Any
) -> None:
    """``data-auto-track="false"``: only the page's own umami.track() calls count, the custom
    payload's URL too; ``data-host-url`` says where they go when the site serves the script
    from a path of its own."""
    website_id = "5c4b3a29-8e7d-4c6b-9a5f-1e2d3c4b5a69"
    app = umami_app(server, "Manual", f"https://{SITE_HOST}", website_id)
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url))
    script = site.file(
        "/stats/script.js", "text/javascript", page.request.get(f"{server.url}/script.js").body()
    )
    head = (
        f'<script defer src="{on_host(site, script)}" data-website-id="{website_id}"'
        f' data-host-url="{server.url}/" data-auto-track="false"></script>'
        "<script>addEventListener('load', () => { umami.track();"
        " umami.track(p => ({...p, url: '/landing/custom', title: 'Custom'}));"
        " umami.identify({plan: 'pro'}); window.ready = true })</script>"
    )
    page.goto(on_host(site, site.page("/landing", head=head)))
    page.wait_for_function("window.ready === true")
    assert stored(server, app, 2) == [
        ("pageview", "/landing", None),
        ("pageview", "/landing/custom", None),
    ]
    page.wait_for_load_state("networkidle")
    assert [url for url in sent if "/api/" in url] == [f"{server.url}/api/send"] * 2
