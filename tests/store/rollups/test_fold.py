"""Rollups give the same answers as the raw hits, and stay current batch by batch."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from footfall.clock import FrozenClock
from footfall.hit_tables import hits_to_table
from footfall.model import App, Hit
from footfall.query import QueryEngine, QuerySpec, parse_filters
from footfall.query.fast import units
from footfall.store.duckdb import DuckDBStore
from footfall.store.rollups import Rollups
from tests.query.dataset import NOW_MS, at, fold_in, hits, load

DIMS = [
    "event:page",
    "event:name",
    "event:hostname",
    "visit:source",
    "visit:referrer",
    "visit:medium",
    "visit:utm_campaign",
    "visit:browser",
    "visit:os",
    "visit:device",
    "visit:country",
    "visit:language",
    "visit:screen",
    "visit:pixel_ratio",  # not in the rollups: answered from raw hits
    "visit:identity",
]
SESSION = ["visits", "bounce_rate", "visit_duration", "views_per_visit"]
PERIODS = [("day", "2026-01-10"), ("7d", "2026-01-10"), ("custom", "2026-01-08,2026-01-09")]


def engines(store: DuckDBStore) -> tuple[QueryEngine, QueryEngine]:
    clock = FrozenClock(NOW_MS)
    return QueryEngine(store, clock), QueryEngine(store, clock, use_rollups=False)


def built(path: Path, batches: int) -> tuple[DuckDBStore, App, Rollups]:
    """The data set, folded into the rollups in ``batches`` slices, as buffer flushes would."""
    store, berlin, other = load(path, stored=False)
    zones = {berlin.id: berlin.timezone, other.id: other.timezone}
    rollups = Rollups(store, zones.get)
    table = hits_to_table(hits())
    step = -(-table.num_rows // batches)
    for start in range(0, table.num_rows, step):
        fold_in(rollups, table.slice(start, step))
    return store, berlin, rollups


def assert_same(fast: QueryEngine, raw: QueryEngine, app: App) -> None:
    for period, date in PERIODS:
        q = QuerySpec(app, period, date)
        metrics = ["visitors", "pageviews", "events", *SESSION]
        assert fast.aggregate(q, metrics, compare=True) == raw.aggregate(q, metrics, compare=True)
        assert fast.timeseries(q, metrics, "day") == raw.timeseries(q, metrics, "day")
        for dim in DIMS:
            ms = (
                ["visitors", "pageviews", "events"]
                if dim.startswith("event:")
                else ["visitors", *SESSION]
            )
            assert fast.breakdown(q, dim, ms) == raw.breakdown(q, dim, ms), (period, date, dim)
        for dim in ("visit:entry_page", "visit:exit_page"):
            assert fast.breakdown(q, dim, SESSION) == raw.breakdown(q, dim, SESSION)
        # the v2 API's grouped queries: totals, one breakdown, days from the rollups
        for keys in ([], ["time:day"], ["time:week"], ["visit:country"], ["event:page"]):
            ms = ["visitors", "pageviews"] if keys == ["event:page"] else metrics
            got = fast.grouped(q, ms, keys, total=True)
            assert got == raw.grouped(q, ms, keys, total=True), (period, date, keys)
        # filtered: raw hits joined to the materialised sessions table vs sessions from raw hits
        for text in (
            "visit:source==Google",
            "event:page==/blog/**",
            "visit:country!=DE;event:page!=/",
        ):
            fq = QuerySpec(app, period, date, parse_filters(text))
            assert fast.aggregate(fq, metrics) == raw.aggregate(fq, metrics), text
            for dim in ("event:page", "visit:browser", "visit:exit_page"):
                ms = ["visitors", "pageviews", *SESSION]
                assert fast.breakdown(fq, dim, ms) == raw.breakdown(fq, dim, ms), (text, dim)


@pytest.mark.parametrize("batches", [1, 7])
def test_rollup_answers_equal_raw_answers(tmp_path: Path, batches: int) -> None:
    store, berlin, rollups = built(tmp_path / "r.duckdb", batches)
    try:
        fast, raw = engines(store)
        assert_same(fast, raw, berlin)
        rollups.compact()  # week and month sketches now stand in for days
        assert_same(fast, raw, berlin)
        assert store.fetch("SELECT count(*) FROM rollup_hll WHERE unit = 'w'")[0][0] > 0
    finally:
        store.close()


def test_fast_path_is_really_taken(tmp_path: Path) -> None:
    store, berlin, _ = built(tmp_path / "r.duckdb", 1)
    try:
        fast, raw = engines(store)
        q = QuerySpec(berlin, "7d", "2026-01-10")
        before = fast.aggregate(q, ["pageviews"])
        store.write([("DELETE FROM events", [])])  # the rollups still know
        assert fast.aggregate(q, ["pageviews"]) == before == {"pageviews": {"value": 10}}
        assert raw.aggregate(q, ["pageviews"]) == {"pageviews": {"value": 0}}
    finally:
        store.close()


def test_a_session_continued_in_a_later_batch_is_recounted(tmp_path: Path) -> None:
    store, berlin, rollups = built(tmp_path / "r.duckdb", 1)
    try:
        fast, raw = engines(store)
        q = QuerySpec(berlin, "day", "2026-01-10")
        assert fast.aggregate(q, ["bounce_rate"])["bounce_rate"]["value"] == 50  # s5 bounced
        later = Hit(
            hit_id="s5-1",
            app_id=berlin.id,
            ts=at("2026-01-10 10:05"),
            visitor_id="v4",
            session_id="s5",
            path="/pricing",
        )
        fold_in(rollups, [later])
        assert fast.aggregate(q, SESSION) == raw.aggregate(q, SESSION)
        assert fast.aggregate(q, ["bounce_rate"])["bounce_rate"]["value"] == 0
        assert fast.breakdown(q, "visit:exit_page", ["visits"]) == raw.breakdown(
            q, "visit:exit_page", ["visits"]
        )
    finally:
        store.close()


def test_an_earlier_hit_arriving_late_moves_its_session_to_new_first_hit_values(
    tmp_path: Path,
) -> None:
    store, berlin, rollups = built(tmp_path / "r.duckdb", 1)
    try:
        fast, raw = engines(store)
        q = QuerySpec(berlin, "day", "2026-01-10")
        # s5 came from Google; a hit from 09:58 that was delayed says it came from Bing first
        early = Hit(
            hit_id="s5-0",
            app_id=berlin.id,
            ts=at("2026-01-10 09:58"),
            visitor_id="v4",
            session_id="s5",
            path="/start",
            source="Bing",
            browser="Firefox",
        )
        fold_in(rollups, [early])
        for dim in ("visit:source", "visit:browser", "visit:entry_page"):
            assert fast.breakdown(q, dim, ["visits", *SESSION[1:]]) == raw.breakdown(
                q, dim, ["visits", *SESSION[1:]]
            ), dim
        assert {"source": "Bing", "visits": 1} in fast.breakdown(q, "visit:source", ["visits"])
        assert fast.aggregate(q, SESSION) == raw.aggregate(q, SESSION)
        rollups.compact()  # the signed rows are merged: one row per value, none left at zero
        assert fast.aggregate(q, SESSION) == raw.aggregate(q, SESSION)
        dupes, zeros = store.fetch(
            "SELECT count(*) - count(DISTINCT (day, dim, value)),"
            " count(*) FILTER (WHERE visits = 0) FROM rollup_sessions WHERE app_id = ?",
            [berlin.id],
        )[0]
        assert (dupes, zeros) == (0, 0)
    finally:
        store.close()


def test_queries_the_rollups_cannot_answer_use_raw_hits(tmp_path: Path) -> None:
    store, berlin, _ = built(tmp_path / "r.duckdb", 1)
    try:
        fast, raw = engines(store)
        q = QuerySpec(berlin, "7d", "2026-01-10")
        # bots, a dimension the rollups do not keep, filters, a changed time zone
        assert fast.aggregate(
            QuerySpec(berlin, "7d", "2026-01-10", include_bots=True), ["visitors"]
        ) == {"visitors": {"value": 7}}
        assert fast.breakdown(q, "event:props:plan", ["visitors"]) == [
            {"plan": "(none)", "visitors": 6},
            {"plan": "pro", "visitors": 1},
        ]
        f = QuerySpec(berlin, "7d", "2026-01-10", parse_filters("visit:source==Google"))
        assert fast.breakdown(f, "event:page", ["pageviews"]) == raw.breakdown(
            f, "event:page", ["pageviews"]
        )
        utc = msgspec.structs.replace(berlin, timezone="UTC")
        assert fast.aggregate(QuerySpec(utc, "day", "2026-01-09"), ["pageviews"]) == {
            "pageviews": {"value": 5}
        }
    finally:
        store.close()


def test_a_time_zone_change_rebuilds_the_rollups(tmp_path: Path) -> None:
    store, berlin, other = load(tmp_path / "r.duckdb", stored=False)
    zones = {berlin.id: "UTC", other.id: "UTC"}
    rollups = Rollups(store, zones.get)
    fold_in(rollups, hits())
    zones[berlin.id] = "Europe/Berlin"
    fold_in(
        rollups, [Hit(hit_id="late", app_id=berlin.id, ts=NOW_MS, visitor_id="z", session_id="z")]
    )
    try:
        rollups.compact()
        assert rollups.state()[berlin.id] == "Europe/Berlin"
        fast, raw = engines(store)
        q = QuerySpec(berlin, "7d", "2026-01-10")
        assert fast.aggregate(q, ["pageviews", "visits"]) == raw.aggregate(
            q, ["pageviews", "visits"]
        )
        assert fast.aggregate(q, ["pageviews"]) == {"pageviews": {"value": 11}}
    finally:
        store.close()


def test_rebuild_reads_raw_events_in_chunks(tmp_path: Path) -> None:
    store, berlin, other = load(tmp_path / "r.duckdb")
    zones = {berlin.id: berlin.timezone, other.id: other.timezone}
    rollups = Rollups(store, zones.get)
    try:
        assert rollups.rebuild(berlin.id, chunk_days=1) == 13  # every hit of the app, day by day
        fast, raw = engines(store)
        q = QuerySpec(berlin, "7d", "2026-01-10")
        metrics = ["visitors", "pageviews", *SESSION]
        assert fast.aggregate(q, metrics) == raw.aggregate(q, metrics)
        assert store.fetch("SELECT count(*) FROM rollup_dirty")[0][0] == 0
    finally:
        store.close()


def test_units_cover_a_window_with_months_weeks_and_days() -> None:
    from datetime import date

    jan = date(2026, 1, 1)
    assert units(date(2025, 12, 29), date(2026, 1, 11), set()) == [
        ("w", date(2025, 12, 29)),
        ("w", date(2026, 1, 5)),
    ]
    assert units(jan, date(2026, 2, 3), set()) == [("m", jan)] + [
        ("d", date(2026, 2, d)) for d in (1, 2, 3)
    ]
    stale = units(jan, date(2026, 1, 31), {("m", jan), ("w", date(2026, 1, 12))})
    assert ("m", jan) not in stale
    assert ("w", date(2026, 1, 5)) in stale and ("w", date(2026, 1, 19)) in stale
    assert ("w", date(2026, 1, 12)) not in stale and ("d", date(2026, 1, 14)) in stale


def test_referrers_are_grouped_by_host_and_path_in_rollups_and_raw(tmp_path: Path) -> None:
    """Plausible shows referrers without scheme, www., query and trailing slash: variants of
    one page are one row, from the rollups (sketches merged) as from raw hits."""
    store, berlin, other = load(tmp_path / "r.duckdb", stored=False)
    zones = {berlin.id: berlin.timezone, other.id: other.timezone}
    variants = [
        "https://www.example.org/a/",
        "http://example.org/a",
        "https://example.org/a?utm=x",
        "https://example.org/",
    ]
    fold_in(
        Rollups(store, zones.get),
        [
            Hit(
                hit_id=f"r{i}",
                app_id=berlin.id,
                ts=at("2026-01-09 10:00") + i,
                visitor_id=f"v{i}",
                session_id=f"s{i}",
                referrer=ref,
                path="/",
            )
            for i, ref in enumerate(variants)
        ],
    )
    fast, raw = engines(store)
    q = QuerySpec(berlin, "day", "2026-01-09")
    want = [
        {"referrer": "example.org/a", "visitors": 3, "visits": 3},
        {"referrer": "example.org", "visitors": 1, "visits": 1},
    ]
    try:
        for engine in (fast, raw):
            assert engine.breakdown(q, "visit:referrer", ["visitors", "visits"]) == want
        fq = QuerySpec(berlin, "day", "2026-01-09", parse_filters("visit:referrer==example.org/a"))
        assert raw.aggregate(fq, ["visitors"]) == {"visitors": {"value": 3}}
    finally:
        store.close()
