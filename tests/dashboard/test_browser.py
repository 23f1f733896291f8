"""The dashboard in a real browser: Debian's Chromium driven by Playwright.

One browser and one server for the module; each test gets a fresh browser context (own cookies).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from footfall.clock import FrozenClock
from footfall.dashboard.accounts import Accounts
from footfall.dashboard.site import DashboardOptions
from footfall.model import App
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.dashboard.conftest import CHEAP_ARGON2
from tests.dashboard.helpers import PASSWORD, send_pageview, visitor
from tests.live import LiveServer, live_server

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"
DOCS = Path(__file__).resolve().parents[2] / "docs"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM), reason=f"needs Debian's Chromium at {CHROMIUM}"
    ),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (dev extra)")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    clock = FrozenClock()
    clock.advance(hours=-1)  # 2025-12-31 23:00 UTC
    db = tmp_path_factory.mktemp("browser") / "footfall.duckdb"
    options = DashboardOptions(password_hasher=CHEAP_ARGON2, realtime_seconds=1)
    with live_server(db, clock=clock, dashboard=options) as srv:
        accounts = Accounts(srv.store, srv.clock, CHEAP_ARGON2)
        accounts.create_user("owner@example.com", PASSWORD, role="owner")
        yield srv


@pytest.fixture
def page(browser: Any, site: LiveServer) -> Iterator[Any]:
    context = browser.new_context(base_url=site.url, viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    yield tab
    context.close()


def log_in(page: Any, email: str = "owner@example.com") -> None:
    page.goto("/apps")
    assert "/login" in page.url
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/apps")


def visit(site: LiveServer, app: App, paths: list[str], **fields: str) -> None:
    with visitor(site) as client:
        for path in paths:
            send_pageview(client, app.id, path, **fields)
    site.flush()


def rows(page: Any, panel: str) -> list[tuple[str, int]]:
    cells = page.locator(f"[data-panel={panel}] tbody tr").all()
    out = []
    for row in cells:
        tds = row.locator("td").all_inner_texts()
        if len(tds) >= 2:
            out.append((tds[0].strip(), int(tds[1].replace(",", ""))))
    return out


def headline(page: Any, key: str) -> str:
    return str(page.locator(f"[data-metric={key}] .value").inner_text())


def test_log_in_add_an_app_send_hits_and_see_them(page: Any, site: LiveServer) -> None:
    log_in(page)
    page.click("text=Add an app")
    page.fill("input[name=name]", "Browser site")
    page.fill("input[name=url]", "https://browser.example")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/apps/[0-9a-f-]{36}/setup$"))
    app_id = page.url.split("/")[-2]
    assert f"p.gif?app={app_id}" in page.inner_text("#noscript")
    app = site.runtime.apps.get(app_id)
    assert app is not None
    visit(site, app, ["/hello", "/pricing"])
    visit(site, app, ["/hello"])
    page.click("text=Dashboard")
    assert headline(page, "visitors") == "2" and headline(page, "pageviews") == "3"
    assert rows(page, "pages")[0] == ("/hello", 2)
    # "visitors now" refreshes itself (every second in this test server)
    assert page.inner_text("#realtime") == "2"
    visit(site, app, ["/later"])
    sync_api.expect(page.locator("#realtime")).to_have_text("3", timeout=5000)


@pytest.fixture(scope="module")
def languages_app(site: LiveServer) -> App:
    app = site.create_app("Languages", "https://languages.example")
    visit(site, app, ["/", "/pricing"], language="en-GB")
    visit(site, app, ["/"], language="en-GB")
    visit(site, app, ["/docs", "/docs/install"], language="de-DE", screensize="390x844")
    return app


def test_clicking_a_row_filters_every_panel_and_the_url(
    page: Any, site: LiveServer, languages_app: App
) -> None:
    log_in(page)
    page.goto(f"/apps/{languages_app.id}?period=day")
    assert headline(page, "visitors") == "3"
    page.click("[data-panel=screens] a:text-is('de-DE')")
    page.wait_for_url(re.compile(r"f=visit%3Alanguage%3D%3Dde-DE"))
    assert page.inner_text(".chip").startswith("Language is de-DE")
    assert headline(page, "visitors") == "1" and headline(page, "pageviews") == "2"
    assert sorted(rows(page, "pages")) == [("/docs", 1), ("/docs/install", 1)]
    assert rows(page, "screens") == [("de-DE", 1)]
    for panel in page.locator("[data-panel]").all():
        key = panel.get_attribute("data-panel")
        assert all(n <= 1 for _, n in rows(page, key)), key  # one visitor left everywhere
    page.click("[data-panel=screens] a:text-is('Screen sizes')")  # tabs keep the filter
    assert "f=visit%3Alanguage" in page.url and rows(page, "screens") == [("390x844", 1)]
    page.click(".chip a")
    assert "f=" not in page.url and headline(page, "visitors") == "3"


def test_a_hostile_title_is_shown_as_text_and_never_runs(page: Any, site: LiveServer) -> None:
    app = site.create_app("Hostile", "https://hostile.example")
    visit(site, app, ["/x"], title=HOSTILE)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    log_in(page)
    page.goto(f"/apps/{app.id}?period=day&pages=title")
    assert rows(page, "pages") == [(HOSTILE, 1)]
    page.wait_for_timeout(300)
    assert dialogs == []
    assert page.locator("img").count() == 0 and page.locator("main script").count() == 0


def test_a_viewer_cannot_change_settings(page: Any, site: LiveServer) -> None:
    app = site.create_app("Viewer's", "https://viewer.example")
    Accounts(site.store, site.clock, CHEAP_ARGON2).create_user(
        "viewer@example.com", PASSWORD, role="viewer", apps=[app.id]
    )
    log_in(page, "viewer@example.com")
    page.click(f"a[href='/apps/{app.id}']")
    assert page.locator("a:text-is('Settings')").count() == 0
    response = page.goto(f"/apps/{app.id}/settings")
    assert response.status == 403 and "Only an owner may change this." in page.inner_text("main")


def test_a_public_link_shows_the_data_read_only_until_revoked(
    page: Any, browser: Any, site: LiveServer
) -> None:
    app = site.create_app("Shared", "https://shared.example")
    visit(site, app, ["/shared-page"])
    log_in(page)
    page.goto(f"/apps/{app.id}/settings")
    page.click("text=Make a public link")
    link = page.get_attribute("#public-link", "href")
    assert link and link.startswith("/share/")
    stranger = browser.new_context(base_url=site.url).new_page()
    try:
        stranger.goto(link + "?period=day")
        assert headline(stranger, "visitors") == "1"
        assert rows(stranger, "pages") == [("/shared-page", 1)]
        assert stranger.locator("form[method=post]").count() == 0
        stranger.click("[data-panel=pages] a:text-is('/shared-page')")  # filters work read-only
        assert "/share/" in stranger.url and "f=event%3Apage" in stranger.url
        page.click("text=Revoke the link")
        response = stranger.goto(link)
        assert response.status == 404 and "revoked" in stranger.inner_text("main")
    finally:
        stranger.context.close()


def test_screenshot_of_a_dashboard_with_data(page: Any, site: LiveServer, tmp_path: Path) -> None:
    """A month of generated traffic, rendered and photographed. With FOOTFALL_SCREENSHOT=1 the picture
    replaces docs/dashboard.png (the README's); otherwise it goes to a temporary directory."""
    querydata = pytest.importorskip("bench.querydata")
    app = site.create_app("footfall.example", "https://footfall.example")
    shape = querydata.Shape(apps=1, hits=60_000, days=60, end_ms=site.clock.now_ms())
    for table in querydata.app_tables(shape, [app.id], ["footfall.example"]):
        site.store.insert_events(table)
    log_in(page)
    page.goto(f"/apps/{app.id}?period=30d")
    assert headline(page, "pageviews") not in ("0", "–")
    assert len(rows(page, "pages")) == 10 and len(rows(page, "sources")) == 10
    target = DOCS / "dashboard.png" if os.environ.get("FOOTFALL_SCREENSHOT") else tmp_path / "d.png"
    page.screenshot(path=str(target), full_page=True)
    assert target.stat().st_size > 20_000


def test_csrf_token_is_required_even_from_the_browser(page: Any, site: LiveServer) -> None:
    """A logged-in browser's POST without the form's token (what a foreign page would send) fails."""
    log_in(page)
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    with httpx.Client(base_url=site.url, cookies=cookies) as client:
        assert client.get("/apps").status_code == 200
        assert client.post("/apps/new", data={"name": "Forged"}).status_code == 403
    assert all(a.name != "Forged" for a in site.runtime.apps.all())


def goal_rows(page: Any) -> list[list[str]]:
    return [
        [c.strip() for c in row.locator("td").all_inner_texts()]
        for row in page.locator("[data-panel=goals] tbody tr[data-goal]").all()
    ]


def test_goals_and_a_funnel_made_in_settings_show_exact_numbers(
    page: Any, site: LiveServer
) -> None:
    """An owner adds a pageview goal, a revenue goal and a funnel in the settings page (a bad
    funnel is a form error), three visitors act, and the dashboard's Goals panel and funnel show
    what they did; a goal's row filters the page by it."""
    app = site.create_app("Goals", "https://goals.example")
    log_in(page)
    page.goto(f"/apps/{app.id}/settings")
    page.select_option("#goal-form select[name=kind]", "page")
    page.fill("#goal-form input[name=page]", "/pricing")
    page.click("#goal-form button[type=submit]")
    page.wait_for_url(re.compile(r"saved=1#goals$"))
    page.select_option("#goal-form select[name=kind]", "event")
    page.fill("#goal-form input[name=event]", "Purchase")
    page.fill("#goal-form input[name=currency]", "EUR")
    page.click("#goal-form button[type=submit]")
    sync_api.expect(page.locator("#goals [data-goal]")).to_have_count(2)
    assert "event Purchase · revenue in EUR" in page.inner_text("#goals [data-goal=Purchase]")
    page.fill("#funnel-form input[name=name]", "Too long")
    page.fill("#funnel-form textarea[name=steps]", "\n".join(f"/p{n}" for n in range(9)))
    page.click("#funnel-form button[type=submit]")
    assert "2 to 8 steps (this one has 9)" in page.inner_text("#funnel-error")
    page.fill("#funnel-form input[name=name]", "Buy")
    page.fill("#funnel-form textarea[name=steps]", "/\n/pricing\nPurchase")
    page.click("#funnel-form button[type=submit]")
    page.wait_for_url(re.compile(r"saved=1#funnels$"))
    assert "Visit / → Visit /pricing → Purchase" in page.inner_text("#funnels [data-funnel=Buy]")

    clock: Any = site.clock
    paths = {"a": ["/", "/pricing", "buy"], "b": ["/", "/pricing"], "c": ["/"]}
    for who, steps in paths.items():
        with visitor(site) as client:
            for step in steps:
                clock.advance(seconds=1)  # one after another, as a browser sends them
                if step == "buy":
                    revenue = {"revenue_amount": "30", "revenue_currency": "EUR"}
                    r = client.post(
                        "/api/event",
                        json={
                            "app": app.id,
                            "event": "Purchase",
                            "path": "/pricing",
                            "props": revenue,
                        },
                    )
                    assert r.status_code < 300, (who, r.text)
                else:
                    send_pageview(client, app.id, step)
    site.flush()
    page.goto(f"/apps/{app.id}?period=day")
    assert goal_rows(page) == [
        ["Visit /pricing", "2", "2", "66.7%", "–"],
        ["Purchase", "1", "1", "33.3%", "€30.00"],
    ]
    steps = page.locator("#funnels tr.step").all()
    cells = [[c.strip() for c in s.locator("td").all_inner_texts()] for s in steps]
    assert cells == [
        ["1. Visit /", "3", "–", "100.0%"],
        ["2. Visit /pricing", "2", "1 (33.3%)", "66.7%"],
        ["3. Purchase", "1", "1 (50.0%)", "33.3%"],
    ]
    assert "3 of 3 visitors entered" in page.inner_text("#funnels .summary")
    page.click("[data-panel=goals] a:text-is('Purchase')")
    page.wait_for_url(re.compile(r"f=event%3Agoal%3D%3DPurchase"))
    assert page.inner_text(".chip").startswith("Goal is Purchase")
    assert headline(page, "visitors") == "1" and headline(page, "conversion_rate") == "33.3%"


def test_dark_mode_follows_the_systems_colour_scheme(
    browser: Any, site: LiveServer, tmp_path: Path
) -> None:
    """``prefers-color-scheme: dark``: dark page and cards, light text, and form fields that are
    dark too; light otherwise. With FOOTFALL_SCREENSHOT=1 the picture is docs/dashboard-dark.png."""
    app = site.create_app("dark.example", "https://dark.example")
    visit(site, app, ["/", "/pricing"])
    colours = {}
    for scheme in ("light", "dark"):
        context = browser.new_context(
            base_url=site.url, viewport={"width": 1280, "height": 900}, color_scheme=scheme
        )
        tab = context.new_page()
        log_in(tab)
        tab.goto(f"/apps/{app.id}?period=day")
        colours[scheme] = tab.evaluate(
            "() => [document.body, document.querySelector('.card'), document.querySelector('select, input')]"
            ".map(e => [getComputedStyle(e).backgroundColor, getComputedStyle(e).color])"
        )
        if scheme == "dark":
            name = "dashboard-dark.png"
            target = DOCS / name if os.environ.get("FOOTFALL_SCREENSHOT") else tmp_path / name
            tab.screenshot(path=str(target), full_page=True)
        context.close()

    def brightness(css: str) -> float:
        r, g, b = (int(x) for x in re.findall(r"\d+", css)[:3])
        return (r * 299 + g * 587 + b * 114) / 1000

    for bg, ink in colours["dark"]:
        assert brightness(bg) < 60 < 160 < brightness(ink), colours["dark"]
    for bg, ink in colours["light"]:
        assert brightness(bg) > 200 > 80 > brightness(ink), colours["light"]


def test_period_shortcuts_from_the_keyboard(page: Any, site: LiveServer) -> None:
    """W, T, M, S, Y and D pick the periods, as in Plausible; typing in a field picks nothing."""
    app = site.create_app("keys.example", "https://keys.example")
    log_in(page)
    page.goto(f"/apps/{app.id}?period=day")
    page.keyboard.press("w")
    page.wait_for_url(re.compile(r"period=7d"))
    page.keyboard.press("t")
    page.wait_for_url(re.compile(r"period=30d"))
    assert page.get_attribute(".periods a[aria-current]", "data-key") == "t"
    page.fill("input[name=from]", "2025-12-01")  # a date field: the letters are its own
    page.focus("input[name=to]")
    page.keyboard.press("m")
    assert "period=30d" in page.url
    page.click("h1")
    page.keyboard.press("Control+y")  # with a modifier: the browser's, not ours
    assert "period=30d" in page.url
    page.keyboard.press("y")
    page.wait_for_url(re.compile(r"period=12mo"))


def test_the_chart_has_axes_and_tells_a_days_numbers_by_pointer_keyboard_or_tap(
    page: Any, site: LiveServer
) -> None:
    app = site.create_app("chart.example", "https://chart.example")
    visit(site, app, ["/", "/a", "/b"])
    log_in(page)
    page.goto(f"/apps/{app.id}?period=7d")
    # 3 pageviews at most: the scale goes to 5 (1, 2 or 5 × 10ⁿ), the grid line at its middle
    assert page.locator(".chart .yaxis span").all_inner_texts() == ["5", "2.5", "0"]
    dates = page.locator(".chart .axis span").all_inner_texts()
    assert len(dates) == 5 and dates[0] < dates[-1]
    readout = page.locator("[data-readout]")
    last = page.locator(".chart rect.hit").last
    last.hover()
    assert readout.inner_text().endswith(": 1 visitors, 3 pageviews")
    page.locator(".chart rect.hit").first.focus()  # reachable by Tab: a focusable bucket
    assert readout.inner_text().endswith(": 0 visitors, 0 pageviews")
    last.dispatch_event("click")  # a tap
    assert readout.inner_text().endswith(": 1 visitors, 3 pageviews")
