"""The dashboard's pages over real HTTP: apps, adding one, the analytics view, filters, realtime."""

from __future__ import annotations

import re

import httpx

from footfall.clock import FrozenClock
from footfall.model import App
from tests.dashboard.helpers import CHROME, change, csrf, metric, panel, send_pageview, visitor
from tests.live import LiveServer

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def visits(
    server: LiveServer, app: App, *paths_per_visitor: list[str], language: str = "en-GB"
) -> None:
    """Each list is one visitor (own cookie jar) viewing those paths."""
    for paths in paths_per_visitor:
        with visitor(server) as client:
            for path in paths:
                send_pageview(client, app.id, path, language=language)
    server.flush()


def test_pages_need_a_login(server: LiveServer, app: App, http: httpx.Client) -> None:
    assert http.get("/").headers["location"] == "/login"
    resp = http.get(f"/apps/{app.id}")
    assert resp.status_code == 303
    assert resp.headers["location"] == f"/login?next=%2Fapps%2F{app.id}"
    realtime = http.get(f"/apps/{app.id}/realtime")
    assert realtime.status_code == 401 and realtime.json() == {"error": "log in first"}


def test_an_owner_adds_an_app_and_gets_its_snippets(
    server: LiveServer, owner_http: httpx.Client
) -> None:
    token = csrf(owner_http, "/apps/new")
    bad = owner_http.post("/apps/new", data={"csrf": token, "name": "Blog", "url": "ftp://x"})
    assert bad.status_code == 400 and "not a web address" in bad.text
    resp = owner_http.post("/apps/new", data={"csrf": token, "name": "Blog", "url": "blog.example"})
    assert resp.status_code == 303
    (app,) = server.runtime.apps.all()
    assert (app.name, app.url) == ("Blog", "https://blog.example")
    assert resp.headers["location"] == f"/apps/{app.id}/setup"
    setup = owner_http.get(resp.headers["location"]).text
    assert f"data-app=&#34;{app.id}&#34;" in setup and "/footfall.js" in setup  # as text
    assert (
        f"&lt;noscript&gt;&lt;img src=&#34;{server.url}/p.gif?app={app.id}&#34;" in setup
    )  # the pixel line
    assert f"{server.url}/p.gif?&#39;+q.join(&#39;&amp;&#39;)" in setup  # the classic beacon
    assert f"{server.url}/api/event" in setup and f"tid={app.id}" in setup
    listing = owner_http.get("/apps").text
    assert f'href="/apps/{app.id}">Blog</a>' in listing
    assert "<strong>0</strong> visitors today" in listing


def test_the_dashboard_counts_what_was_sent_and_compares_with_before(
    server: LiveServer, clock: FrozenClock, app: App, owner_http: httpx.Client
) -> None:
    clock.advance(hours=12)  # 2026-01-01 12:00 UTC
    clock.advance(days=-1)
    visits(server, app, ["/"])  # yesterday: one visitor
    clock.advance(days=1)
    visits(server, app, ["/", "/pricing"], ["/"], ["/docs", "/pricing", "/docs"])
    html = owner_http.get(f"/apps/{app.id}", params={"period": "day"}).text
    assert metric(html, "visitors") == "3"
    assert metric(html, "visits") == "3"
    assert metric(html, "pageviews") == "6"
    assert metric(html, "views_per_visit") == "2"
    assert metric(html, "bounce_rate") == "33%"
    assert change(html, "visitors") == "↑ 200%"
    assert panel(html, "pages") == [("/", "2"), ("/docs", "1"), ("/pricing", "2")] or panel(
        html, "pages"
    ) == [("/", "2"), ("/pricing", "2"), ("/docs", "1")]
    listing = owner_http.get("/apps").text
    assert "<strong>3</strong> visitors today" in listing
    assert re.search(r'<svg class="spark"[^>]*>.*?<path d="M[\d., L]+"/>', listing, re.S)
    entry = owner_http.get(f"/apps/{app.id}", params={"period": "day", "pages": "entry"}).text
    assert sorted(panel(entry, "pages")) == [("/", "2"), ("/docs", "1")]


HEADLINE = ("visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "visit_duration")


def test_after_an_empty_period_the_numbers_are_new_and_nothing_is_compared_with_nothing(
    server: LiveServer, clock: FrozenClock, app: App, owner_http: httpx.Client
) -> None:
    clock.advance(hours=12)  # 2026-01-01 12:00 UTC; nothing the day before: a new site
    visits(server, app, ["/", "/pricing"], ["/"])
    html = owner_http.get(f"/apps/{app.id}", params={"period": "day"}).text
    assert metric(html, "visitors") == "2" and metric(html, "bounce_rate") == "50%"
    changes = {key: change(html, key) for key in HEADLINE}
    assert changes == {
        "visitors": "new",
        "visits": "new",
        "pageviews": "new",
        "views_per_visit": "new",
        "bounce_rate": "new",  # not "↑ 50 pts" over a day that had no visits
        "visit_duration": None,  # 0 s now and nothing before: no change at all
    }
    empty = owner_http.get(
        f"/apps/{app.id}", params={"period": "day", "date": "2025-12-31"}
    ).text  # nothing then, nothing before
    assert metric(empty, "visitors") == "0"
    assert {key: change(empty, key) for key in HEADLINE} == dict.fromkeys(HEADLINE)
    # the day after: a change from the first day, as a percentage again
    clock.advance(days=1)
    visits(server, app, ["/"], ["/"], ["/"], ["/"])
    after = owner_http.get(f"/apps/{app.id}", params={"period": "day"}).text
    assert change(after, "visitors") == "↑ 100%" and change(after, "bounce_rate") == "↑ 50 pts"


def test_a_filter_in_the_url_applies_to_every_number_and_shows_as_a_chip(
    server: LiveServer, clock: FrozenClock, app: App, owner_http: httpx.Client
) -> None:
    visits(server, app, ["/", "/pricing"], ["/"])
    visits(server, app, ["/docs"], language="de-DE")
    html = owner_http.get(f"/apps/{app.id}", params={"period": "day"}).text
    assert sorted(panel(html, "screens")) == [("de-DE", "1"), ("en-GB", "2")]
    link = re.search(r'<a href="([^"]+)">de-DE</a>', html)
    assert link and "f=visit%3Alanguage%3D%3Dde-DE" in link.group(1)
    filtered = owner_http.get(link.group(1).replace("&amp;", "&")).text
    assert metric(filtered, "visitors") == "1" and metric(filtered, "pageviews") == "1"
    assert panel(filtered, "pages") == [("/docs", "1")]
    assert panel(filtered, "screens") == [("de-DE", "1")]
    chip = re.search(r'<li class="chip">Language is <b>de-DE</b> <a href="([^"]+)"', filtered)
    assert chip and "f=" not in chip.group(1)  # removing it drops the filter…
    assert "period=day" in chip.group(1)  # …and keeps the rest of the view
    # every row link keeps the filter and adds its own
    page_link = re.search(r'<a href="([^"]+)">/docs</a>', filtered)
    assert page_link and "visit%3Alanguage%3D%3Dde-DE" in page_link.group(1)
    assert "event%3Apage%3D%3D%2Fdocs" in page_link.group(1)


def test_stored_strings_are_shown_as_text(
    server: LiveServer, app: App, owner_http: httpx.Client
) -> None:
    with visitor(server) as client:
        send_pageview(client, app.id, "/x", title=HOSTILE)
        resp = client.post(
            "/api/event",
            json={
                "app": app.id,
                "url": "https://site.example/x",
                "event": HOSTILE,
                "props": {"plan": "<b>pro</b>"},
            },
            headers={"User-Agent": CHROME},
        )
        assert resp.status_code in (200, 202, 204), resp.text
    server.flush()
    server.runtime.apps.save(
        server.runtime.apps.get(app.id).__class__(**{**_fields(app), "name": HOSTILE})
    )
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;"
    titles = owner_http.get(f"/apps/{app.id}", params={"period": "day", "pages": "title"}).text
    assert (escaped, "1") in panel(titles, "pages")
    assert (escaped, "1") in panel(titles, "events")
    props = owner_http.get(f"/apps/{app.id}", params={"period": "day", "events": "prop:plan"}).text
    assert ("&lt;b&gt;pro&lt;/b&gt;", "1") in panel(props, "events")
    for html in (titles, props, owner_http.get("/apps").text):
        assert escaped in html
        assert "<script>alert" not in html and "<img src=x" not in html and "<b>pro" not in html


def _fields(app: App) -> dict[str, object]:
    import msgspec

    return msgspec.structs.asdict(app)


def test_bad_view_parameters_get_a_clear_400(
    server: LiveServer, app: App, owner_http: httpx.Client
) -> None:
    for params, word in (
        ({"period": "forever"}, "period"),
        ({"f": "nonsense"}, "filters"),
        ({"f": "visit:shoe_size==42"}, "filters"),
        ({"period": "custom", "from": "2026-01-01"}, "date"),
        ({"date": "yesterday"}, "date"),
        ({"date": "9999-12-31"}, "date"),
        ({"period": "custom", "from": "0001-01-01", "to": "2026-01-01"}, "date"),
        ({"date": "\u0662\u0660\u0662\u0666-01-01"}, "date"),
    ):
        resp = owner_http.get(f"/apps/{app.id}", params=params)
        assert resp.status_code == 400, params
        assert word in resp.text and "Traceback" not in resp.text
    custom = owner_http.get(
        f"/apps/{app.id}", params={"period": "custom", "from": "2025-12-31", "to": "2025-12-01"}
    )
    assert custom.status_code == 200 and "2025-12-01 – 2025-12-31" in custom.text


def test_visitors_now_counts_the_last_minutes(
    server: LiveServer, clock: FrozenClock, app: App, owner_http: httpx.Client
) -> None:
    visits(server, app, ["/"], ["/a"])
    assert owner_http.get(f"/apps/{app.id}/realtime").json() == {"visitors": 2}
    html = owner_http.get(f"/apps/{app.id}").text
    assert re.search(r'id="realtime" data-realtime="/apps/[^"]+/realtime"[^>]*>2</strong>', html)
    clock.advance(minutes=10)
    assert owner_http.get(f"/apps/{app.id}/realtime").json() == {"visitors": 0}


def test_a_row_whose_value_holds_a_semicolon_filters_by_that_value(
    server: LiveServer, app: App, owner_http: httpx.Client
) -> None:
    visits(server, app, ["/a;b"], ["/a"])
    html = owner_http.get(f"/apps/{app.id}", params={"period": "day"}).text
    link = re.search(r'<a href="([^"]+)">/a;b</a>', html)
    assert link
    filtered = owner_http.get(link.group(1).replace("&amp;", "&"))
    assert filtered.status_code == 200
    assert metric(filtered.text, "visitors") == "1"
    assert panel(filtered.text, "pages") == [("/a;b", "1")]


def test_a_property_tab_shows_only_the_events_that_have_the_property(
    server: LiveServer, app: App, owner_http: httpx.Client
) -> None:
    for n, props in enumerate([{"plan": "pro"}, {"plan": "pro"}, {"plan": "free"}, {}, {}, {}]):
        with visitor(server) as client:
            body = {"app": app.id, "url": f"https://site.example/{n}", "event": "signup"}
            resp = client.post("/api/event", json={**body, "props": props} if props else body)
            assert resp.status_code == 202
    server.flush()
    page = owner_http.get(f"/apps/{app.id}", params={"period": "day", "events": "prop:plan"}).text
    assert panel(page, "events") == [("pro", "2"), ("free", "1")]  # no "(none) 3" row


def test_an_app_without_hits_says_how_to_get_the_first(
    server: LiveServer, app: App, owner_http: httpx.Client
) -> None:
    page = owner_http.get(f"/apps/{app.id}").text
    assert 'id="no-data"' in page and "data-local" in page
    test_hit = re.search(r'<a href="(/p\.gif\?app=[^"]+)">', page)
    assert test_hit is not None
    with visitor(server) as browser:  # the owner follows the test link
        assert browser.get(test_hit.group(1).replace("&amp;", "&")).status_code == 200
    server.flush()
    after = owner_http.get(f"/apps/{app.id}").text
    assert 'id="no-data"' not in after and metric(after, "pageviews") == "1"
