"""The "Not found (404)" panel: the paths a site's 404 page reported with footfall('404', {props:
{path}}) (Plausible's snippet for 404s works as is), shown only when there are any."""

from __future__ import annotations

import csv
import io
import json
import re

import httpx

from footfall.model import App
from tests.dashboard.helpers import send_pageview, visitor
from tests.live import LiveServer


def not_found(server: LiveServer, app: App, path: str) -> None:
    with visitor(server) as client:
        send_pageview(client, app.id, path)  # the 404 page is viewed, then reports itself
        send_pageview(client, app.id, path, event="404", props=json.dumps({"path": path}))


def panel(html: str) -> list[tuple[str, str, str]]:
    found = re.search(r'data-panel="notfound">(.*?)</section>', html, re.S)
    if found is None:
        return []
    cells = re.findall(
        r'<td class="label">.*?<a [^>]*>([^<]*)</a></td>\s*<td class="num">([^<]*)</td>\s*'
        r'<td class="num">([^<]*)</td>',
        found.group(1),
        re.S,
    )
    return [(label, visitors, hits) for label, visitors, hits in cells]


def test_pages_not_found_are_listed_with_their_visitors_and_hits(
    server: LiveServer, app: App, owner_http: httpx.Client
) -> None:
    page = owner_http.get(f"/apps/{app.id}?period=day")
    assert 'data-panel="notfound"' not in page.text  # no 404s: no panel
    not_found(server, app, "/old-post")
    not_found(server, app, "/old-post")
    not_found(server, app, "/typo")
    with visitor(server) as client:
        send_pageview(client, app.id, "/fine")
    server.flush()
    page = owner_http.get(f"/apps/{app.id}?period=day")
    assert "Not found (404)" in page.text
    assert panel(page.text) == [("/old-post", "2", "2"), ("/typo", "1", "1")]
    download = owner_http.get(f"/apps/{app.id}/export/notfound.csv?period=day")
    assert list(csv.reader(io.StringIO(download.text))) == [
        ["Pages not found", "Visitors", "Hits"],
        ["/old-post", "2", "2"],
        ["/typo", "1", "1"],
    ]
