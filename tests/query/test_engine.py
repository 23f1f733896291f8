"""The query engine against answers worked out by hand on tests/query/dataset.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from footfall.clock import FrozenClock
from footfall.model import App
from footfall.query import QueryEngine, QueryError, QuerySpec, parse_filters
from footfall.store.duckdb import DuckDBStore
from tests.query.dataset import NOW_MS, load

ALL = [
    "visitors",
    "visits",
    "pageviews",
    "events",
    "bounce_rate",
    "visit_duration",
    "views_per_visit",
]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DuckDBStore, App, App]]:
    store, berlin, other = load(Path(tmp_path_factory.mktemp("q")) / "q.duckdb")
    yield store, berlin, other
    store.close()


@pytest.fixture(scope="module")
def engine(loaded: tuple[DuckDBStore, App, App]) -> QueryEngine:
    return QueryEngine(loaded[0], FrozenClock(NOW_MS))


@pytest.fixture(scope="module")
def berlin(loaded: tuple[DuckDBStore, App, App]) -> App:
    return loaded[1]


def values(result: dict[str, dict[str, object]]) -> dict[str, object]:
    return {m: r["value"] for m, r in result.items()}


def test_one_local_day_counts_hits_in_it_and_sessions_started_in_it(
    engine: QueryEngine, berlin: App
) -> None:
    got = engine.aggregate(QuerySpec(berlin, "day", "2026-01-09"), ALL)
    # hits on 01-09 Berlin: s8, s1 ×3, s2, s3's first; s3's signup is on 01-10; s6 is a bot
    assert values(got) == {
        "visitors": 3,  # v6, v1, v2
        "visits": 4,  # s8, s1, s2, s3 (started 23:50, ends after midnight)
        "pageviews": 6,
        "events": 6,
        "bounce_rate": 50,  # s8 and s2; s3 has a pageview and a signup, so it is no bounce
        "visit_duration": 338,  # (0 + 150 + 0 + 1200) / 4 = 337.5, the session as a whole
        "views_per_visit": 1.5,  # 6 / 4
    }


def test_seven_days(engine: QueryEngine, berlin: App) -> None:
    got = engine.aggregate(QuerySpec(berlin, "7d", "2026-01-10"), ALL)
    assert values(got) == {
        "visitors": 6,
        "visits": 7,
        "pageviews": 10,
        "events": 11,
        "bounce_rate": 57,  # 4 of 7
        "visit_duration": 199,  # 1390 / 7
        "views_per_visit": 1.43,
    }


def test_the_date_defaults_to_today_in_the_apps_time_zone(engine: QueryEngine, berlin: App) -> None:
    today = engine.aggregate(QuerySpec(berlin, "day"), ["pageviews", "visits"])
    assert values(today) == {"pageviews": 3, "visits": 2}  # 01-10: s4 (2), s5 (1)


def test_bots_only_when_asked(engine: QueryEngine, berlin: App) -> None:
    q = QuerySpec(berlin, "day", "2026-01-09", include_bots=True)
    assert values(engine.aggregate(q, ["visitors", "pageviews", "visits"])) == {
        "visitors": 4,
        "pageviews": 8,
        "visits": 5,
    }
    bots = engine.breakdown(
        QuerySpec(berlin, "7d", "2026-01-10"), "bot:name", ["visitors", "pageviews"]
    )
    assert bots == [{"bot": "Googlebot", "visitors": 1, "pageviews": 2}]


def test_a_day_is_the_apps_local_day(engine: QueryEngine, berlin: App) -> None:
    utc = msgspec.structs.replace(berlin, timezone="UTC")
    got = engine.aggregate(QuerySpec(utc, "day", "2026-01-09"), ["pageviews", "events", "visits"])
    # in UTC, s8 (23:30 UTC) falls on 01-08 and s3's signup (23:10 UTC) on 01-09
    assert values(got) == {"pageviews": 5, "events": 6, "visits": 3}


def test_comparison_with_the_previous_period(engine: QueryEngine, berlin: App) -> None:
    got = engine.aggregate(
        QuerySpec(berlin, "day", "2026-01-09"),
        ["visitors", "pageviews", "bounce_rate"],
        compare=True,
    )
    # 01-08 Berlin holds only s7: one visitor, one pageview, one bounce
    assert got == {
        "visitors": {"value": 3, "change": 200},
        "pageviews": {"value": 6, "change": 500},
        "bounce_rate": {"value": 50, "change": -50},  # points, not percent
    }


def test_timeseries_fills_empty_days(engine: QueryEngine, berlin: App) -> None:
    got = engine.timeseries(
        QuerySpec(berlin, "7d", "2026-01-10"), ["visitors", "pageviews", "visits"]
    )
    empty = {"visitors": 0, "pageviews": 0, "visits": 0}
    assert got == [
        {"date": "2026-01-04", **empty},
        {"date": "2026-01-05", **empty},
        {"date": "2026-01-06", **empty},
        {"date": "2026-01-07", **empty},
        {"date": "2026-01-08", "visitors": 1, "pageviews": 1, "visits": 1},
        {"date": "2026-01-09", "visitors": 3, "pageviews": 6, "visits": 4},
        # s3's signup is here (v1 counts), but s3 started the day before
        {"date": "2026-01-10", "visitors": 3, "pageviews": 3, "visits": 2},
    ]


def test_hourly_timeseries_in_local_hours(engine: QueryEngine, berlin: App) -> None:
    got = engine.timeseries(QuerySpec(berlin, "day", "2026-01-09"), ["pageviews"])
    assert len(got) == 24
    assert {r["date"]: r["pageviews"] for r in got if r["pageviews"]} == {
        "2026-01-09 00:00:00": 1,
        "2026-01-09 10:00:00": 3,
        "2026-01-09 11:00:00": 1,
        "2026-01-09 23:00:00": 1,
    }


def test_weekly_and_monthly_buckets(engine: QueryEngine, berlin: App) -> None:
    weeks = engine.timeseries(QuerySpec(berlin, "month", "2026-01-10"), ["pageviews"], "week")
    assert [r["date"] for r in weeks][:3] == ["2025-12-29", "2026-01-05", "2026-01-12"]
    assert weeks[1]["pageviews"] == 10
    months = engine.timeseries(QuerySpec(berlin, "6mo", "2026-01-10"), ["visits"])
    assert [r["date"] for r in months] == [f"2025-{m:02}-01" for m in range(8, 13)] + ["2026-01-01"]
    assert months[-1]["visits"] == 7


def test_daylight_saving_days_have_23_and_25_hours(tmp_path: Path) -> None:
    from footfall.hit_tables import hits_to_table
    from footfall.model import Hit
    from tests.query.dataset import at

    store, berlin, _ = load(tmp_path / "dst.duckdb")
    try:
        # 2026-03-29: 02:00 → 03:00 in Berlin; 2026-10-25: 03:00 → 02:00
        times = ["2026-03-29 01:30", "2026-03-29 03:30", "2026-10-25 01:30", "2026-10-25 23:30"]
        store.insert_events(
            hits_to_table(
                [
                    Hit(hit_id=t, app_id=berlin.id, ts=at(t), visitor_id=t, session_id=t)
                    for t in times
                ]
            )
        )
        engine = QueryEngine(store, FrozenClock(NOW_MS))
        spring = engine.timeseries(QuerySpec(berlin, "day", "2026-03-29"), ["pageviews"])
        assert len(spring) == 23
        assert [r["date"][11:13] for r in spring if r["pageviews"]] == ["01", "03"]
        autumn = engine.timeseries(QuerySpec(berlin, "day", "2026-10-25"), ["pageviews"])
        assert len(autumn) == 24  # 02:00 happens twice and is one key
        assert [r["date"][11:13] for r in autumn if r["pageviews"]] == ["01", "23"]
        days = engine.timeseries(
            QuerySpec(berlin, "custom", "2026-03-28,2026-03-30"), ["pageviews"], "date"
        )
        assert [r["pageviews"] for r in days] == [0, 2, 0]
    finally:
        store.close()


def test_breakdown_by_page(engine: QueryEngine, berlin: App) -> None:
    got = engine.breakdown(
        QuerySpec(berlin, "7d", "2026-01-10"), "event:page", ["visitors", "pageviews"]
    )
    assert got == [
        {"page": "/", "visitors": 3, "pageviews": 3},
        {"page": "/blog/one", "visitors": 3, "pageviews": 3},
        {"page": "/blog/two", "visitors": 2, "pageviews": 2},
        {"page": "/docs/a/b", "visitors": 1, "pageviews": 1},
        {"page": "/pricing", "visitors": 1, "pageviews": 1},
    ]


def test_breakdown_pages_limit_and_page(engine: QueryEngine, berlin: App) -> None:
    q = QuerySpec(berlin, "7d", "2026-01-10")
    second = engine.breakdown(q, "event:page", ["visitors"], limit=2, page=2)
    assert second == [{"page": "/blog/two", "visitors": 2}, {"page": "/docs/a/b", "visitors": 1}]


def test_visit_dimensions_come_from_the_first_hit(engine: QueryEngine, berlin: App) -> None:
    q = QuerySpec(berlin, "7d", "2026-01-10")
    assert engine.breakdown(q, "visit:source", ["visitors", "visits", "bounce_rate"]) == [
        {"source": "Google", "visitors": 3, "visits": 3, "bounce_rate": 33},
        {"source": "(none)", "visitors": 2, "visits": 2, "bounce_rate": 100},
        {"source": "Bing", "visitors": 1, "visits": 1, "bounce_rate": 100},
        {"source": "Hacker News", "visitors": 1, "visits": 1, "bounce_rate": 0},
    ]
    assert engine.breakdown(q, "visit:entry_page", ["visits"]) == [
        {"entry_page": "/", "visits": 3},
        {"entry_page": "/blog/one", "visits": 2},
        {"entry_page": "/blog/two", "visits": 1},
        {"entry_page": "/pricing", "visits": 1},
    ]
    assert engine.breakdown(q, "visit:exit_page", ["visits"])[:2] == [
        {"exit_page": "/", "visits": 2},
        {"exit_page": "/blog/two", "visits": 2},
    ]
    assert engine.breakdown(q, "visit:utm_campaign", ["visitors"]) == [
        {"utm_campaign": "(none)", "visitors": 6},  # v1 also came without a campaign (s3)
        {"utm_campaign": "winter", "visitors": 1},
    ]


@pytest.mark.parametrize(
    ("dim", "expected"),
    [
        ("visit:country", [("US", 2, 2), ("DE", 1, 2), ("FR", 1, 1), ("GB", 1, 1), ("NL", 1, 1)]),
        ("visit:browser", [("Firefox", 2, 2), ("Safari", 2, 2), ("Chrome", 1, 2), ("Edge", 1, 1)]),
        ("visit:os", [("Linux", 2, 2), ("Windows", 2, 3), ("iOS", 2, 2)]),
        ("visit:device", [("desktop", 4, 5), ("mobile", 2, 2)]),
        ("visit:medium", [("search", 4, 4), ("direct", 2, 2), ("social", 1, 1)]),
        (
            "visit:screen",
            [("1440x900", 2, 2), ("390x844", 2, 2), ("(none)", 1, 1), ("1920x1080", 1, 2)],
        ),
        ("visit:pixel_ratio", [("(none)", 3, 3), ("3.0", 2, 2), ("1.0", 1, 2)]),
        ("visit:identity", [("cookie", 6, 7)]),
        ("visit:language", [("(none)", 3, 3), ("en-US", 2, 2), ("de-DE", 1, 2)]),
        ("visit:browser_version", [("(none)", 5, 5), ("131", 1, 2)]),
        ("visit:region", [("(none)", 6, 7)]),
        (
            "visit:referrer",
            [
                ("google.com", 3, 3),  # host and path, as Plausible shows referrers
                ("(none)", 2, 2),
                ("bing.com", 1, 1),
                ("news.ycombinator.com", 1, 1),
            ],
        ),
        ("event:hostname", [("site.example", 6, 7)]),
        ("event:name", [("pageview", 6, 7), ("signup", 1, 1)]),
        ("event:props:plan", [("(none)", 6, 7), ("pro", 1, 1)]),
    ],
)
def test_breakdown_dimensions(
    engine: QueryEngine, berlin: App, dim: str, expected: list[tuple[str, int, int]]
) -> None:
    got = engine.breakdown(QuerySpec(berlin, "7d", "2026-01-10"), dim, ["visitors", "visits"])
    key = dim.rsplit(":", 1)[1] if dim.startswith("event:props:") else dim.split(":")[1]
    key = {"name": "name"}.get(key, key)
    assert [(r[key], r["visitors"], r["visits"]) for r in got] == expected


@pytest.mark.parametrize(
    ("filters", "pageviews", "visitors"),
    [
        ("event:page==/blog/**", 5, 4),
        ("event:page==/blog/*", 5, 4),
        ("event:page==/docs/*", 0, 0),  # * stops at a slash
        ("event:page==/docs/**", 1, 1),
        ("event:page==**/two", 2, 2),
        ("event:page==/blog%/**", 0, 0),  # % and _ are no wildcards
        ("event:page==/blog_one**", 0, 0),  # unescaped, _ would match /blog/one
        ("event:page==/|/pricing", 4, 3),
        ("event:page!=/", 7, 4),
        ("event:page~blog", 5, 4),
        ("event:page!~blog", 5, 4),
        ("visit:source==Google", 6, 3),
        ("visit:source==(none)", 2, 2),
        ("visit:source!=Google", 4, 4),
        ("visit:country==DE;event:page==/blog/**", 2, 1),
        ("visit:browser==Chrome|Edge", 5, 2),
        ("event:props:plan==pro", 0, 1),
    ],
)
def test_filters(
    engine: QueryEngine, berlin: App, filters: str, pageviews: int, visitors: int
) -> None:
    q = QuerySpec(berlin, "7d", "2026-01-10", parse_filters(filters))
    assert values(engine.aggregate(q, ["pageviews", "visitors"])) == {
        "pageviews": pageviews,
        "visitors": visitors,
    }


def test_visit_filters_pick_sessions(engine: QueryEngine, berlin: App) -> None:
    q = QuerySpec(berlin, "7d", "2026-01-10", parse_filters("visit:source==Google"))
    assert values(engine.aggregate(q, ["visits", "bounce_rate", "visit_duration"])) == {
        "visits": 3,  # s1, s4, s5
        "bounce_rate": 33,
        "visit_duration": 63,  # (150 + 40 + 0) / 3
    }


def test_event_filters_pick_the_sessions_that_had_such_a_hit(
    engine: QueryEngine, berlin: App
) -> None:
    q = QuerySpec(berlin, "7d", "2026-01-10", parse_filters("event:page==/blog/**"))
    assert values(engine.aggregate(q, ["visits"])) == {"visits": 4}  # s8, s1, s2, s4


def test_conversion_rate_of_a_goal(engine: QueryEngine, berlin: App) -> None:
    q = QuerySpec(berlin, "7d", "2026-01-10", parse_filters("event:name==signup"))
    assert values(engine.aggregate(q, ["visitors", "conversion_rate"])) == {
        "visitors": 1,
        "conversion_rate": 16.67,  # 1 of 6 visitors
    }
    by_source = engine.breakdown(q, "visit:source", ["visitors", "conversion_rate"])
    assert by_source == [{"source": "Hacker News", "visitors": 1, "conversion_rate": 100.0}]
    with pytest.raises(QueryError) as err:
        engine.aggregate(QuerySpec(berlin, "7d", "2026-01-10"), ["conversion_rate"])
    assert err.value.param == "metrics"


def test_apps_never_mix(engine: QueryEngine, loaded: tuple[DuckDBStore, App, App]) -> None:
    other = loaded[2]
    assert values(
        engine.aggregate(QuerySpec(other, "day", "2026-01-09"), ["visitors", "pageviews"])
    ) == {
        "visitors": 1,
        "pageviews": 1,
    }


def test_realtime_counts_the_last_five_minutes(tmp_path: Path) -> None:
    from footfall.hit_tables import hits_to_table
    from footfall.model import Hit

    store, berlin, _ = load(tmp_path / "rt.duckdb")
    try:
        store.insert_events(
            hits_to_table(
                [
                    Hit(app_id=berlin.id, ts=NOW_MS - 120_000, visitor_id="r1", session_id="r1"),
                    Hit(app_id=berlin.id, ts=NOW_MS - 60_000, visitor_id="r1", session_id="r1"),
                    Hit(
                        app_id=berlin.id, ts=NOW_MS - 10 * 60_000, visitor_id="r2", session_id="r2"
                    ),
                    Hit(
                        app_id=berlin.id,
                        ts=NOW_MS - 30_000,
                        visitor_id="r3",
                        session_id="r3",
                        bot="GPTBot",
                    ),
                ]
            )
        )
        assert QueryEngine(store, FrozenClock(NOW_MS)).realtime_visitors(berlin) == 1
    finally:
        store.close()


@pytest.mark.parametrize(
    ("call", "param"),
    [
        (lambda e, a: e.aggregate(QuerySpec(a, "fortnight"), ["visitors"]), "period"),
        (lambda e, a: e.aggregate(QuerySpec(a, "day", "yesterday"), ["visitors"]), "date"),
        (lambda e, a: e.aggregate(QuerySpec(a, "custom", "2026-01-09"), ["visitors"]), "date"),
        (
            lambda e, a: e.aggregate(QuerySpec(a, "custom", "2026-01-09,2026-01-01"), ["visitors"]),
            "date",
        ),
        (lambda e, a: e.aggregate(QuerySpec(a), ["visitors", "hugs"]), "metrics"),
        (lambda e, a: e.breakdown(QuerySpec(a), "visit:shoe_size", ["visitors"]), "property"),
        (lambda e, a: e.breakdown(QuerySpec(a), "event:page", ["visitors"], limit=0), "limit"),
        (lambda e, a: e.breakdown(QuerySpec(a), "event:page", ["visitors"], page=0), "page"),
        (lambda e, a: e.timeseries(QuerySpec(a), ["visitors"], "fortnight"), "interval"),
        (lambda e, a: e.timeseries(QuerySpec(a, "12mo"), ["visitors"], "hour"), "interval"),
    ],
)
def test_bad_queries_name_the_parameter(
    engine: QueryEngine, berlin: App, call: object, param: str
) -> None:
    with pytest.raises(QueryError) as err:
        call(engine, berlin)  # type: ignore[operator]
    assert err.value.param == param


@pytest.mark.parametrize(
    "text",
    [
        "event:page",
        "visit:nope==x",
        "event:page==",
        "page==/x",
        "event:page=/x",
        "event:page~a||b",  # an empty alternative would match every page
        "visit:country==DE|",
    ],
)
def test_bad_filters(text: str) -> None:
    with pytest.raises(QueryError) as err:
        parse_filters(text)
    assert err.value.param == "filters"


def test_filter_syntax() -> None:
    got = parse_filters("event:page==/blog/**;visit:country==DE|FR ; event:props:plan!~free")
    assert [(f.dimension, f.op, f.value) for f in got] == [
        ("event:page", "==", "/blog/**"),
        ("visit:country", "==", "DE|FR"),
        ("event:props:plan", "!~", "free"),
    ]


def test_values_are_bound_never_spliced(engine: QueryEngine, berlin: App) -> None:
    hostile = "x' OR '1'='1"
    q = QuerySpec(berlin, "7d", "2026-01-10", parse_filters(f"event:page=={hostile}"))
    assert values(engine.aggregate(q, ["pageviews"])) == {"pageviews": 0}
    got = engine.breakdown(QuerySpec(berlin, "7d", "2026-01-10"), "event:props:a'b", ["visitors"])
    assert got == [{"a'b": "(none)", "visitors": 6}]
