"""CSV downloads from the dashboard: a panel's rows as the page shows them, and the period's raw
events; a formula-looking cell is neutralised; public links give panels, never raw hits."""

from __future__ import annotations

import csv
import io

import httpx
import msgspec

from footfall.model import App
from tests.dashboard.helpers import send_pageview, visitor
from tests.live import LiveServer


def rows(resp: httpx.Response) -> list[list[str]]:
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/csv")
    assert resp.headers["content-disposition"].startswith("attachment;")
    return list(csv.reader(io.StringIO(resp.text)))


def traffic(server: LiveServer, app: App) -> None:
    for paths in (["/", "/pricing", "/pricing"], ["/", "/sheet"], ["/"]):
        with visitor(server) as client:
            for path in paths:
                title = {"/": "Home", "/sheet": '=HYPERLINK("x")'}.get(path, "")
                send_pageview(client, app.id, path, title=title)
    server.flush()


def test_a_panel_downloads_as_the_page_shows_it(
    server: LiveServer, app: App, owner_http: httpx.Client
) -> None:
    traffic(server, app)
    pages = rows(owner_http.get(f"/apps/{app.id}/export/pages.csv?period=day"))
    assert pages == [  # best first, ties by the value
        ["Top pages", "Visitors", "Views"],
        ["/", "3", "3"],
        ["/pricing", "1", "2"],
        ["/sheet", "1", "1"],
    ]
    titles = rows(owner_http.get(f"/apps/{app.id}/export/pages.csv?period=day&pages=title"))
    assert titles[0] == ["Titles", "Visitors", "Views"] and ["Home", "3", "3"] in titles
    assert ['\'=HYPERLINK("x")', "1", "1"] in titles  # not a formula in a spreadsheet
    # the page's filters apply, as on the page
    only = rows(
        owner_http.get(f"/apps/{app.id}/export/pages.csv?period=day&f=event:page==/pricing")
    )
    assert only[1:] == [["/pricing", "1", "2"]]
    assert owner_http.get(f"/apps/{app.id}/export/nope.csv?period=day").status_code == 404


def test_the_periods_raw_events_download_for_readers_only(
    server: LiveServer, app: App, owner_http: httpx.Client
) -> None:
    traffic(server, app)
    events = rows(owner_http.get(f"/apps/{app.id}/export/raw-events.csv?period=day"))
    header, body = events[0], events[1:]
    assert "path" in header and "hit_id" in header and len(body) == 6
    paths = sorted(r[header.index("path")] for r in body)
    assert paths == ["/", "/", "/", "/pricing", "/pricing", "/sheet"]
    assert '\'=HYPERLINK("x")' in [r[header.index("title")] for r in body]
    assert rows(owner_http.get(f"/apps/{app.id}/export/raw-events.csv?period=7d"))[1:] != []
    with httpx.Client(base_url=server.url) as anonymous:
        resp = anonymous.get(f"/apps/{app.id}/export/raw-events.csv?period=day")
        assert resp.status_code in (303, 401) and "hit_id" not in resp.text


def test_a_public_link_gives_panels_but_not_raw_events(
    server: LiveServer, app: App, owner_http: httpx.Client
) -> None:
    traffic(server, app)
    token = "a-public-token-of-enough-length"
    server.runtime.apps.save(msgspec.structs.replace(app, public_token=token))
    with httpx.Client(base_url=server.url) as anonymous:
        pages = rows(anonymous.get(f"/share/{token}/export/pages.csv?period=day"))
        assert pages[0] == ["Top pages", "Visitors", "Views"] and len(pages) == 4
        events = rows(anonymous.get(f"/share/{token}/export/events.csv?period=day"))
        assert events[0] == ["Events", "Visitors", "Count"]  # the events panel, not raw hits
        assert anonymous.get(f"/share/{token}/export/raw-events.csv?period=day").status_code == 404
        assert anonymous.get("/share/wrong/export/pages.csv?period=day").status_code == 404
