"""Rollups follow every buffer flush; the upkeep job compacts them and enforces retention."""

from __future__ import annotations

from pathlib import Path

import httpx
import msgspec

from footfall.apps import AppRegistry
from footfall.clock import FrozenClock
from footfall.model import App
from footfall.query import QueryEngine, QuerySpec
from footfall.store.rollups import Rollups, rebuild_mark
from footfall.upkeep import Upkeep
from tests.collect.test_pixel import CHROME
from tests.live import LiveServer
from tests.query.dataset import NOW_MS, OTHER_ID, load


def test_flushed_hits_reach_the_rollups(server: LiveServer, app: App, http: httpx.Client) -> None:
    browser = {"User-Agent": CHROME}  # the default client's agent counts as a bot
    for path in ("/", "/a", "/a"):
        assert http.get(f"/p.gif?app={app.id}&path={path}", headers=browser).status_code == 200
    server.flush()
    assert server.store.fetch("SELECT tz FROM rollup_state WHERE app_id = ?", [app.id]) == [
        ("UTC",)
    ]
    fast = QueryEngine(server.store, server.clock)
    raw = QueryEngine(server.store, server.clock, use_rollups=False)
    q = QuerySpec(app, "day")
    metrics = ["visitors", "visits", "pageviews", "bounce_rate"]
    assert fast.aggregate(q, metrics) == raw.aggregate(q, metrics)
    assert fast.aggregate(q, ["pageviews"]) == {"pageviews": {"value": 3}}
    assert fast.breakdown(q, "event:page", ["pageviews"]) == [
        {"page": "/a", "pageviews": 2},
        {"page": "/", "pageviews": 1},
    ]


def test_retention_deletes_old_raw_events_and_keeps_rollups(tmp_path: Path) -> None:
    store, berlin, other = load(tmp_path / "r.duckdb")
    clock = FrozenClock(NOW_MS)  # 2026-01-10 12:00 UTC
    store.save_app(msgspec.structs.replace(berlin, retention_days=1))
    registry = AppRegistry(store, clock)
    rollups = Rollups(store, lambda app_id: registry.get(app_id).timezone)  # type: ignore[union-attr]
    store.write([rebuild_mark(berlin.id), rebuild_mark(other.id)])  # by compaction below
    upkeep = Upkeep(store, registry, rollups, clock, interval=0)
    q = QuerySpec(berlin, "7d", "2026-01-10")
    try:
        upkeep.run_once()
        raw = QueryEngine(store, clock, use_rollups=False)
        fast = QueryEngine(store, clock)
        # older than 2026-01-09 12:00 UTC is gone: only s3, s4 and s5 remain (5 hits)
        assert store.count_events(berlin.id) == 5
        assert store.count_events(OTHER_ID) == 1  # no retention set
        assert raw.aggregate(q, ["pageviews"]) == {"pageviews": {"value": 4}}
        assert fast.aggregate(q, ["pageviews", "visits"]) == {
            "pageviews": {"value": 10},
            "visits": {"value": 7},
        }
        assert upkeep.runs == 1
    finally:
        store.close()


def test_an_upkeep_run_puts_duckdbs_memory_limit_back_at_rest(tmp_path: Path) -> None:
    from footfall.store.duckdb import DuckDBStore

    store = DuckDBStore(str(tmp_path / "m.duckdb"), memory_limit="1GB", resting_memory="16MB")
    clock = FrozenClock(NOW_MS)
    upkeep = Upkeep(store, AppRegistry(store, clock), Rollups(store, lambda _: "UTC"), clock, 0)
    assert store.answer("SELECT current_setting('memory_limit')") == [("953.6 MiB",)]
    assert store.memory.limit() == "953.6 MiB"  # a dashboard read raised it
    upkeep.run_once()
    assert store.memory.limit() == "15.2 MiB"
