"""FastPath.route: the one decision of whether the rollups or the raw events answer a query."""

from __future__ import annotations

from pathlib import Path

from footfall.clock import FrozenClock
from footfall.hit_tables import hits_to_table
from footfall.query import parse_filters
from footfall.query.fast import RAW, FastPath, Route
from footfall.query.periods import window
from footfall.query.spec import dimension
from footfall.store.rollups import RollupFeed, Rollups, rebuild_mark
from tests.query.dataset import NOW_MS, fold_in, hits, load

DAYS = window("7d", "2026-01-10", "Europe/Berlin", NOW_MS)
REALTIME = window("realtime", None, "Europe/Berlin", NOW_MS)
BOTH = Route(rollups=True, sessions_table=True)
RAW_WITH_SESSIONS = Route(rollups=False, sessions_table=True)


def test_the_route_follows_the_query_and_the_state_of_the_rollups(tmp_path: Path) -> None:
    store, berlin, other = load(tmp_path / "f.duckdb", stored=False)
    zones = {berlin.id: berlin.timezone, other.id: other.timezone}
    rollups = Rollups(store, zones.get)
    fast = FastPath(rollups)

    def route(**change: object) -> Route:
        asked: dict[str, object] = {
            "filters": [],
            "bots": False,
            "dim": None,
            "metrics": ["visitors", "pageviews", "visits"],
        }
        asked |= change
        w = asked.pop("w", DAYS)
        tz = asked.pop("tz", "Europe/Berlin")
        return fast.route(berlin.id, tz, w, **asked)  # type: ignore[arg-type]

    # nothing folded in yet: the raw path, computing visits from the hits too
    assert route() == Route(rollups=False, sessions_table=False)
    fold_in(rollups, hits())

    assert route() == BOTH
    assert route(dim=dimension("visit:country")) == BOTH
    assert route(filters=parse_filters("visit:country==DE")) == RAW_WITH_SESSIONS
    assert route(bots=True) == RAW_WITH_SESSIONS
    assert route(w=REALTIME) == RAW_WITH_SESSIONS
    assert route(buckets=False) == RAW_WITH_SESSIONS  # hourly buckets
    # the rollups count days in the zone they were built in; sessions do not care
    assert route(tz="America/New_York") == RAW_WITH_SESSIONS
    # metrics the rollups do not hold for a dimension
    assert route(dim=dimension("visit:entry_page"), metrics=["visitors"]) == RAW_WITH_SESSIONS
    assert route(dim=dimension("visit:entry_page"), metrics=["visits"]) == BOTH
    assert route(metrics=["conversion_rate"]) == RAW_WITH_SESSIONS

    # flagged for a rebuild: neither the rollups nor the sessions table can be trusted
    store.write([rebuild_mark(berlin.id)])
    assert route() == Route(rollups=False, sessions_table=False)
    rollups.compact()
    assert route() == BOTH


def test_hits_waiting_to_be_folded_in_send_queries_near_them_to_raw_events(tmp_path: Path) -> None:
    """A reader without the feed (the CLI while a server writes): rollups and sessions table
    are not read while hits near the period wait to be folded in; with ``catch_up`` they are
    folded in first."""
    store, berlin, other = load(tmp_path / "f.duckdb", stored=False)
    zones = {berlin.id: berlin.timezone, other.id: other.timezone}
    rollups = Rollups(store, zones.get)
    fold_in(rollups, hits()[:3])
    feed = RollupFeed(rollups, FrozenClock(NOW_MS), max_rows=10**9)
    feed.write_table(hits_to_table(hits()[3:]))  # written, not folded in
    asked = {"filters": [], "bots": False, "dim": None, "metrics": ["visitors"]}
    reader = FastPath(Rollups(store, zones.get, create=False))
    assert reader.route(berlin.id, "Europe/Berlin", DAYS, **asked) == RAW  # type: ignore[arg-type]
    long_ago = window("7d", "2025-06-30", "Europe/Berlin", NOW_MS)
    assert reader.route(berlin.id, "Europe/Berlin", long_ago, **asked) == BOTH  # type: ignore[arg-type]

    server = FastPath(Rollups(store, zones.get, create=False), catch_up=feed.fold)
    assert server.route(berlin.id, "Europe/Berlin", DAYS, **asked) == BOTH  # type: ignore[arg-type]
    assert feed.waiting == 0
    assert reader.route(berlin.id, "Europe/Berlin", DAYS, **asked) == BOTH  # type: ignore[arg-type]
