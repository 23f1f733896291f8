"""Right after new hits, every answer counts them: totals (which the rollups answer) and breakdowns
by dimensions the rollups do not hold (raw events, with visits from the ``sessions`` table) agree.

The rollups and the sessions table are folded in batches (footfall.store.rollups.feed, up to
``--rollup-wait`` after a hit is written); the server's queries fold what waits first, and a reader
without the feed (the CLI, while a server writes) answers such queries from raw events.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from footfall.clock import FrozenClock
from footfall.keys import KeyRing
from footfall.model import App
from footfall.query import QueryEngine, QuerySpec
from tests.live import LiveServer, live_server

NOW_MS = 1_768_046_400_000  # 2026-01-10T12:00:00Z
METRICS = "visitors,pageviews,visits,events"
AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)"
    " Version/17.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
]


@pytest.fixture
def srv(tmp_path: Path) -> Iterator[LiveServer]:
    with live_server(
        tmp_path / "fresh.duckdb", clock=FrozenClock(NOW_MS), trusted_proxies=("127.0.0.1",)
    ) as server:
        yield server


def visit(client: httpx.Client, app: App, n: int, path: str, event: str = "pageview") -> None:
    """A hit of visitor ``n`` (their own address and browser), through the collection API."""
    r = client.post(
        "/api/event",
        json={"app": app.id, "event": event, "url": f"https://site.example{path}"},
        headers={"User-Agent": AGENTS[n], "X-Forwarded-For": f"198.51.100.{n + 1}"},
    )
    assert r.status_code == 202, r.text


def totals(rows: list[dict[str, Any]], metrics: list[str]) -> dict[str, int]:
    return {m: sum(int(r[m]) for r in rows) for m in metrics}


def test_totals_and_breakdowns_agree_right_after_new_hits(srv: LiveServer) -> None:
    app = srv.create_app("Fresh", "https://site.example")
    secret = KeyRing(srv.store, srv.clock).create()[1]
    with httpx.Client(base_url=srv.url, headers={"Authorization": f"Bearer {secret}"}) as api:
        visit(api, app, 0, "/")
        srv.flush()  # written and folded in: the rollups hold the app
        visit(api, app, 1, "/pricing")
        visit(api, app, 2, "/docs")
        visit(api, app, 2, "/docs", event="signup")
        srv.runtime.buffer.flush()  # written, not folded in yet (the feed waits for more)
        assert srv.runtime.feed.waiting == 3

        # a reader without the feed (the CLI's engine) answers from raw events meanwhile
        cli = QueryEngine(srv.store, srv.clock)
        q = QuerySpec(app=app, period="day")
        want = {"visitors": 3, "pageviews": 3, "visits": 3, "events": 4}
        metrics = list(want)
        assert {m: v["value"] for m, v in cli.aggregate(q, metrics).items()} == want
        by_os = cli.breakdown(q, "visit:os_version", metrics, limit=100)
        assert totals(by_os, ["pageviews", "visits", "events"]) == {
            m: want[m] for m in ("pageviews", "visits", "events")
        }
        assert srv.runtime.feed.waiting == 3  # reading folded nothing

        # the server's Stats API: the rollups' totals count the new hits, as breakdowns do
        day = {"site_id": app.id, "period": "day", "metrics": METRICS}
        r = api.get("/api/v1/stats/aggregate", params=day)
        assert r.status_code == 200, r.text
        assert {m: v["value"] for m, v in r.json()["results"].items()} == want
        assert srv.runtime.feed.waiting == 0
        series = api.get("/api/v1/stats/timeseries", params={**day, "period": "7d"}).json()
        assert totals(series["results"], metrics) == want
        for prop in ("visit:os_version", "visit:browser", "visit:country"):
            rows = api.get(
                "/api/v1/stats/breakdown",
                params={**day, "property": prop, "metrics": "pageviews,visits,events"},
            ).json()["results"]
            assert totals(rows, ["pageviews", "visits", "events"]) == {
                "pageviews": 3,
                "visits": 3,
                "events": 4,
            }, prop
        filtered = api.get(
            "/api/v1/stats/aggregate", params={**day, "filters": "visit:browser!=Nothing"}
        ).json()["results"]
        assert {m: v["value"] for m, v in filtered.items()} == want


def test_realtime_visitors_are_those_who_viewed_a_page(srv: LiveServer) -> None:
    """Plausible's current visitors: a custom event alone does not make a visitor current."""
    app = srv.create_app("Live", "https://site.example")
    secret = KeyRing(srv.store, srv.clock).create()[1]
    with httpx.Client(base_url=srv.url, headers={"Authorization": f"Bearer {secret}"}) as api:
        visit(api, app, 0, "/")
        visit(api, app, 1, "/", event="signup")
        srv.runtime.buffer.flush()
        r = api.get("/api/v1/stats/realtime/visitors", params={"site_id": app.id})
        assert r.json() == 1
