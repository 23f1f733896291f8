"""The tracker in headless Chromium: what a real page sends and what footfall stores.

Run alone with ``pytest -m browser`` (``make test-browser``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from footfall.collect.script import load_tracker
from footfall.model import App
from footfall.present.snippet import pixel_snippet, script_snippet
from tests.browser.conftest import LocalSite, tracker_tag, wait_rows
from tests.live import LiveServer

pytestmark = pytest.mark.browser

EVENTS = "SELECT event, path FROM events WHERE app_id = ?"


def events(server: LiveServer, app: App, n: int) -> list[tuple[Any, ...]]:
    """The (event, path) pairs stored for ``app`` once there are at least ``n`` of them."""
    return sorted(wait_rows(server, EVENTS, [app.id], n), key=repr)


def settle(server: LiveServer, app: App, page: Any, n: int) -> list[tuple[Any, ...]]:
    """Wait for ``n`` hits, then send a last event and wait for it too, so that a hit sent by
    mistake along with the expected ones has landed before the test counts."""
    events(server, app, n)
    page.evaluate("footfall('settled')")
    rows = events(server, app, n + 1)
    assert ("settled", rows[-1][1]) in rows, rows
    return [r for r in rows if r[0] != "settled"]


@pytest.mark.parametrize(
    "context_options",
    [
        {
            "viewport": {"width": 1280, "height": 720},
            "screen": {"width": 1600, "height": 900},
            "device_scale_factor": 2,
            "locale": "de-DE",
        }
    ],
)
def test_pageview_lands_with_the_emulated_screen_language_and_pixel_ratio(
    server: LiveServer, site: LocalSite, page: Any
) -> None:
    app = server.create_app()
    url = site.page("/pricing", head=tracker_tag(server, app.id, "data-local"), title="Preise")
    page.goto(url + "?plan=pro", referer="https://news.example/item?id=7")
    rows = wait_rows(
        server,
        "SELECT event, channel, url, hostname, path, title, referrer, platform, language, screen,"
        " pixel_ratio FROM events WHERE app_id = ?",
        [app.id],
        1,
    )
    platform = page.evaluate("navigator.platform")
    assert rows == [
        (
            "pageview",
            "api",
            f"{site.origin}/pricing?plan=pro",
            "localhost",
            "/pricing",
            "Preise",
            "https://news.example/item?id=7",
            platform,
            "de-DE",
            "1600x900",
            2.0,
        )
    ]


def test_the_classic_pixel_snippet_pasted_verbatim_lands(
    server: LiveServer, site: LocalSite, page: Any
) -> None:
    app = server.create_app()
    page.goto(site.page("/classic", body=pixel_snippet(app, server.url), title="Classic"))
    rows = wait_rows(
        server, "SELECT channel, path, title, screen FROM events WHERE app_id = ?", [app.id], 1
    )
    width, height = page.evaluate("[screen.width, screen.height]")
    assert rows == [("pixel", "/classic", "Classic", f"{width}x{height}")]


def beacons(page: Any, server: LiveServer) -> list[str]:
    """A live list of the requests the page makes to footfall, but for the script itself."""
    seen: list[str] = []

    def log(request: Any) -> None:
        if request.url.startswith(server.url) and not request.url.endswith("/footfall.js"):
            seen.append(request.url)

    page.on("request", log)
    return seen


def test_local_pages_are_not_counted_unless_data_local(
    server: LiveServer, site: LocalSite, page: Any, tmp_path: Path
) -> None:
    app = server.create_app()
    sent = beacons(page, server)
    # the snippet exactly as footfall prints it: no data-local, so localhost is not counted
    page.goto(site.page("/local", body=script_snippet(app, server.url)))
    saved = tmp_path / "saved.html"  # a page saved to disk: file:
    saved.write_text(f"<title>saved</title>{tracker_tag(server, app.id)}")
    page.goto(saved.as_uri())
    page.goto(site.page("/counted", head=tracker_tag(server, app.id, "data-local")))
    assert settle(server, app, page, 1) == [("pageview", "/counted")]
    assert sent == [f"{server.url}/api/event"] * 2  # the pageview and settle()'s event


def test_a_local_page_says_once_on_the_console_that_it_is_not_counted(
    server: LiveServer, site: LocalSite, page: Any
) -> None:
    app = server.create_app()
    said: list[tuple[str, str]] = []
    page.on("console", lambda message: said.append((message.type, message.text)))
    # a single-page app on localhost: its route changes send nothing and say nothing more
    page.goto(site.page("/local", body=script_snippet(app, server.url)))
    page.evaluate("history.pushState({}, '', '/local/next'); footfall('signup')")
    page.wait_for_timeout(200)
    assert said == [("info", "footfall: localhost needs data-local")]
    said.clear()
    page.goto(site.page("/counted", head=tracker_tag(server, app.id, "data-local")))
    assert settle(server, app, page, 1) == [("pageview", "/counted")]
    # not local: a Do-Not-Track skip is the site's own choice, and is not told on the console
    page.add_init_script(
        "Object.defineProperty(Navigator.prototype, 'doNotTrack', {get: () => '1'})"
    )
    page.goto(site.page("/dnt", head=tracker_tag(server, app.id, "data-local", "data-respect-dnt")))
    page.wait_for_timeout(200)
    assert said == []


@pytest.mark.parametrize(
    "signal",
    ["globalPrivacyControl', {get: () => true}", "doNotTrack', {get: () => '1'}"],
    ids=["gpc", "dnt"],
)
def test_dnt_and_gpc_stop_the_tracker_when_the_site_asks(
    server: LiveServer, site: LocalSite, page: Any, signal: str
) -> None:
    app = server.create_app()
    sent = beacons(page, server)
    page.add_init_script(f"Object.defineProperty(Navigator.prototype, '{signal})")
    page.goto(site.page("/dnt", head=tracker_tag(server, app.id, "data-local", "data-respect-dnt")))
    # the same browser without data-respect-dnt: counted (the server applies the app's DNT policy)
    page.goto(site.page("/counted", head=tracker_tag(server, app.id, "data-local")))
    assert settle(server, app, page, 1) == [("pageview", "/counted")]
    assert sent == [f"{server.url}/api/event"] * 2


def test_a_copy_served_by_the_site_itself_sends_to_data_endpoint(
    server: LiveServer, site: LocalSite, page: Any
) -> None:
    app = server.create_app()
    script = site.file("/js/stats.js", "text/javascript", load_tracker())
    tag = f'<script defer data-app="{app.id}" data-local data-endpoint="{server.url}" src="{script}"></script>'
    page.goto(site.page("/self-hosted", head=tag))
    assert settle(server, app, page, 1) == [("pageview", "/self-hosted")]


def test_push_and_replace_state_count_each_new_path_once(
    server: LiveServer, site: LocalSite, page: Any
) -> None:
    app = server.create_app()
    page.goto(site.page("/app/", head=tracker_tag(server, app.id, "data-local")))
    page.evaluate(
        """async () => {
          history.pushState({}, '', '/app/a');
          history.pushState({}, '', '/app/b');
          history.replaceState({}, '', '/app/b');          // same path: not a new page
          history.replaceState({}, '', '/app/c');          // a new path: counted
          history.pushState({}, '', '/app/c?tab=2');       // query only: not a new page
          history.pushState({}, '', '/app/c?tab=2#top');   // hash only: not a new page
          const back = () => new Promise(r => { addEventListener('popstate', r, {once: true}); history.back(); });
          await back();  // to /app/c?tab=2: same path
          await back();  // to /app/c
          await back();  // to /app/a: counted
        }"""
    )
    assert page.evaluate("location.pathname") == "/app/a"
    assert sorted(settle(server, app, page, 5)) == [
        ("pageview", "/app/"),
        ("pageview", "/app/a"),
        ("pageview", "/app/a"),
        ("pageview", "/app/b"),
        ("pageview", "/app/c"),
    ]


def test_hash_routing_counts_hash_changes(server: LiveServer, site: LocalSite, page: Any) -> None:
    app = server.create_app()
    page.goto(site.page("/h/", head=tracker_tag(server, app.id, "data-local", "data-hash")))
    page.evaluate(
        """async () => {
          const go = (hash) => new Promise(r => { addEventListener('hashchange', r, {once: true}); location.hash = hash; });
          await go('#/one');
          history.pushState({}, '', '/h/#/two');
        }"""
    )
    assert sorted(settle(server, app, page, 3)) == [
        ("pageview", "/h/"),
        ("pageview", "/h/#/one"),
        ("pageview", "/h/#/two"),
    ]


def test_outbound_and_download_clicks_are_stored_even_when_the_page_navigates_away(
    server: LiveServer, site: LocalSite, page: Any
) -> None:
    app = server.create_app()
    landing = site.page("/landing", head=tracker_tag(server, app.id, "data-local"))
    links = (
        "<a id=internal href='/nowhere'>internal</a>"
        "<a id=mail href='mailto:someone@example.com'>mail</a>"
        "<a id=report href='/files/report.PDF'>report</a>"
        "<a id=data href='/files/export' download>export</a>"
        "<a id=other href='/files/notes.txt'>notes (not in the list)</a>"
        f"<a id=out href='{site.other_origin}/landing'>elsewhere</a>"
    )
    head = tracker_tag(server, app.id, "data-local", "data-outbound", 'data-downloads=""')
    page.goto(site.page("/links", body=links, head=head))
    page.route("mailto:*", lambda route: route.abort())
    for link in ("internal", "report", "data", "other"):
        page.click(f"#{link}")
    page.click("#out")
    page.wait_for_url(landing.replace(site.origin, site.other_origin))
    # nothing for the internal, mailto: and unlisted links
    assert sorted(settle(server, app, page, 5)) == [
        ("download", "/links"),
        ("download", "/links"),
        ("outbound", "/links"),
        ("pageview", "/landing"),
        ("pageview", "/links"),
    ]
    rows = server.rows(
        "SELECT event, props['url'] FROM events WHERE app_id = ? AND path = '/links'"
        " AND event <> 'pageview'",
        [app.id],
    )
    assert sorted(rows) == [
        ("download", f"{site.origin}/files/export"),
        ("download", f"{site.origin}/files/report.PDF"),
        ("outbound", f"{site.other_origin}/landing"),
    ]


def test_custom_events_with_props_and_calls_queued_before_load(
    server: LiveServer, site: LocalSite, page: Any
) -> None:
    app = server.create_app()
    stub = (
        "<script>window.footfall = window.footfall || function () {"
        " (footfall.q = footfall.q || []).push(arguments) };"
        " footfall('early', {props: {step: 1}});</script>"
    )
    page.goto(site.page("/signup", head=stub + tracker_tag(server, app.id, "data-local")))
    page.evaluate("footfall('signup', {props: {plan: 'pro', trial: true}})")
    rows = wait_rows(
        server,
        "SELECT event, path, props FROM events WHERE app_id = ? AND event <> 'pageview'",
        [app.id],
        2,
    )
    assert sorted(rows) == [
        ("early", "/signup", {"step": "1"}),
        ("signup", "/signup", {"plan": "pro", "trial": "true"}),
    ]


def test_without_send_beacon_the_image_fallback_delivers(
    server: LiveServer, site: LocalSite, page: Any
) -> None:
    app = server.create_app()
    page.add_init_script("delete Navigator.prototype.sendBeacon")
    page.goto(site.page("/old", head=tracker_tag(server, app.id, "data-local"), title="Old"))
    assert page.evaluate("navigator.sendBeacon") is None
    page.evaluate("footfall('signup', {props: {plan: 'pro'}})")
    rows = wait_rows(
        server,
        "SELECT event, channel, path, title, url, props FROM events WHERE app_id = ?",
        [app.id],
        2,
    )
    assert sorted(rows, key=repr) == [
        ("pageview", "pixel", "/old", "Old", f"{site.origin}/old", None),
        ("signup", "pixel", "/old", "Old", f"{site.origin}/old", {"plan": "pro"}),
    ]


BREAK_THE_BROWSER = """
window.trackerFaults = 0;
const boom = () => { window.trackerFaults++; throw new Error('broken browser API'); };
Object.defineProperty(Screen.prototype, 'width', {get: boom});
Navigator.prototype.sendBeacon = boom;
"""

ERROR_LOG = """<script>
window.pageErrors = [];
window.onerror = (message) => { pageErrors.push(String(message)); };
addEventListener('unhandledrejection', (e) => pageErrors.push('rejection: ' + e.reason));
</script>"""


def test_an_exception_inside_the_tracker_never_reaches_the_page(
    server: LiveServer, site: LocalSite, page: Any
) -> None:
    app = server.create_app()
    page.add_init_script(BREAK_THE_BROWSER)
    head = ERROR_LOG + tracker_tag(server, app.id, "data-local", "data-outbound")
    page.goto(
        site.page(
            "/fragile",
            head=head,
            body="<a id=out href='https://x.example/' onclick='event.preventDefault()'>x</a>",
        )
    )
    page.evaluate(
        """() => {
          const loop = {}; loop.self = loop;
          footfall('circular', {props: loop});    // JSON.stringify throws
          history.pushState({}, '', '/fragile/2'); // the page's own call still works
          document.querySelector('#out').dispatchEvent(new MouseEvent('click', {bubbles: true, cancelable: true}));
          setTimeout(() => { throw new Error('the page itself'); });  // control: onerror does fire
        }"""
    )
    page.wait_for_function("pageErrors.length > 0")
    assert page.evaluate("location.pathname") == "/fragile/2"
    assert page.evaluate("trackerFaults") >= 3  # the tracker really hit the broken APIs
    assert page.evaluate("pageErrors") == ["Uncaught Error: the page itself"]
    assert server.count(app.id) == 0


def test_first_party_identity_keeps_ids_in_the_sites_own_cookies(
    server: LiveServer, site: LocalSite, page: Any
) -> None:
    app = server.create_app()
    app.identity = "first-party"
    server.runtime.apps.save(app)
    head = tracker_tag(server, app.id, "data-local", 'data-identity="first-party"')
    page.goto(site.page("/fp", head=head))
    page.evaluate("history.pushState({}, '', '/fp/next')")
    page.goto(site.page("/fp/again", head=head))  # a full page load reads the cookies back
    assert len(events(server, app, 3)) == 3
    rows = server.rows(
        "SELECT DISTINCT visitor_id, session_id, identity FROM events WHERE app_id = ?", [app.id]
    )
    cookies = {c["name"]: c for c in page.context.cookies(site.origin)}
    assert rows == [(cookies["_utma"]["value"], cookies["_utmb"]["value"], "first-party")]
    now = page.evaluate("Date.now() / 1000")
    # 730 days asked for; Chromium caps every cookie's lifetime at 400 days (RFC 6265bis)
    assert cookies["_utma"]["expires"] - now == pytest.approx(400 * 86_400, abs=60)
    assert cookies["_utmb"]["expires"] - now == pytest.approx(30 * 60, abs=60)
    assert not cookies["_utma"]["httpOnly"]  # set by the page's script, on the page's host
    assert cookies["_utma"]["domain"] == "localhost"
