"""Every filter shape against a hit-by-hit walk in Python, on hits with NULL, '' and literal
'(none)' values: equality, alternatives, ``(none)``, negations, contains, globs (LIKE and regular
expression), custom properties, goals and bots. The walk states the semantics the SQL must keep
however it is written (docs/query.md): a filter sees a missing or empty value as ``(none)``, a
negation keeps the hits (or visits) that match none of the alternatives, a visit filter looks at
the session's first hit. Both raw paths run: sessions computed from the hits, and read from the
``sessions`` table."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from footfall.clock import FrozenClock
from footfall.globs import glob_to_regex
from footfall.goals import GoalBook
from footfall.hit_tables import hits_to_table
from footfall.model import App, Goal, Hit
from footfall.query import QueryEngine, QuerySpec, parse_filters
from footfall.query.builder import Builder
from footfall.query.spec import Filter, matching_goals
from footfall.store.duckdb import DuckDBStore
from footfall.store.rollups import Rollups
from tests.query.dataset import fold_in

APP_ID = "33333333-3333-4333-8333-333333333333"
DAY_MS = 1_769_904_000_000  # 2026-02-01T00:00:00Z
NOW_MS = DAY_MS + 12 * 3_600_000
NONE = "(none)"

VISIT = {
    "source": "source",
    "country": "country",
    "device": "device",
    "utm_campaign": "utm_campaign",
    "pixel_ratio": "pixel_ratio",
    "entry_page": "path",
}
EVENT = {"page": "path", "name": "event", "hostname": "hostname", "title": "title"}


def _session(sid: str | None, visitor: str, start_min: int, *hits: dict[str, Any]) -> list[Hit]:
    out = []
    for n, fields in enumerate(hits):
        out.append(
            Hit(
                hit_id=f"{sid}-{n}",
                app_id=APP_ID,
                ts=DAY_MS + (start_min + n) * 60_000 + 3_600_000,
                visitor_id=visitor,
                session_id=sid,
                **fields,
            )
        )
    return out


def hits() -> list[Hit]:
    return [
        *_session(
            "a",
            "v1",
            0,
            {
                "path": "/",
                "hostname": "site.example",
                "title": "Home",
                "source": "Google",
                "country": "DE",
                "device": "mobile",
                "pixel_ratio": 2.0,
                "utm_campaign": "spring",
            },
            {"path": "/blog/one", "hostname": "site.example", "title": "One", "country": "DE"},
            {"event": "signup", "path": "/signup", "props": {"plan": "pro"}, "country": "DE"},
        ),  # fmt: skip
        *_session(
            "b",
            "v2",
            10,
            {"path": None, "hostname": None, "title": None},  # every value NULL
            {"path": "", "hostname": "", "title": "", "source": "Google", "country": "DE"},
        ),
        *_session(
            "c",
            "v3",
            20,
            {
                "path": "/blog",
                "hostname": "",
                "title": "",
                "source": "",
                "country": "",
                "device": "",
                "utm_campaign": "",
            },
            {"path": "/blog/x/y", "title": "Deep"},
            {"event": "click", "path": "/blog/x/y", "props": {"plan": ""}},
        ),  # fmt: skip
        *_session(
            "d",
            "v4",
            30,
            {
                "path": NONE,
                "title": NONE,
                "source": NONE,
                "country": "FR",
                "device": "desktop",
                "pixel_ratio": 1.0,
            },
            {"event": "click", "path": NONE, "props": {"other": "x"}},
        ),  # fmt: skip
        *_session(
            "e",
            "v5",
            40,
            {"path": "/docs/a_b", "source": "Google", "country": "FR", "device": "mobile"},
            {"path": "/docs/a%b", "source": "Bing", "country": "DE", "device": "desktop"},
            {"path": "/docs/aXb", "title": "x_y"},
        ),
        *_session(
            "f",
            "v1",
            50,
            {"path": "/pricing", "source": "Bing", "device": "tablet", "title": "Pricing"},
            {"event": "purchase", "path": "/pricing", "props": {"plan": "pro", "n": "2"}},
            {"event": "signup", "path": "/signup", "props": {"plan": "basic"}},
        ),
        *_session("g", "b1", 60, {"path": "/", "bot": "Googlebot", "source": "Google"}),
        *_session("h", "v6", 70, {"path": "/x", "bot": "", "source": "Google", "device": "mobile"}),
        *_session("i", "v7", 80, {"event": "outbound", "path": None, "props": {}}),
    ]


FILTERS = [
    # equality, alternatives and (none) on event columns
    "event:page==/",
    "event:page==/|/pricing",
    "event:page==(none)",
    "event:page==(none)|/",
    "event:page!=/",
    "event:page!=(none)",
    "event:page!=(none)|/blog/one",
    "event:page==nope",
    "event:page!=nope",
    # contains
    "event:page~blog",
    "event:page~none",
    "event:page~blog|docs",
    "event:page!~blog",
    "event:page!~none",
    "event:page!~o",
    "event:title~o",
    "event:title!~O",
    # globs: ** only (LIKE), * (regular expression), %, _ and ? literal or not
    "event:page==/blog/**",
    "event:page==/blog**",
    "event:page==/blog/*",
    "event:page==/docs/a_b",
    "event:page==/docs/a_b**",
    "event:page==/docs/a%b",
    "event:page==/docs/a?b",
    "event:page==/docs/a?b*",
    "event:page==**",
    "event:page==*",
    "event:page==(*",
    "event:page!=/blog/**",
    "event:page!=/blog/*",
    "event:page!=**",
    "event:page!=*",
    "event:page==/blog/**|(none)",
    "event:page!=/blog/**|(none)",
    "event:page==**/y|/",
    # other event dimensions
    "event:hostname==site.example",
    "event:hostname==(none)",
    "event:hostname!=(none)",
    "event:hostname!=site.example",
    "event:title==(none)",
    "event:title!=(none)",
    "event:title==x_y",
    "event:title==x%y",
    "event:name==signup|purchase",
    "event:name!=pageview",
    "event:name~u",
    # custom properties: missing key, empty value, NULL and empty maps
    "event:props:plan==pro",
    "event:props:plan==pro|basic",
    "event:props:plan==(none)",
    "event:props:plan!=(none)",
    "event:props:plan!=pro",
    "event:props:plan~r",
    "event:props:plan!~r",
    "event:props:plan==p**",
    "event:props:plan==*",
    "event:props:other==x",
    # visit dimensions: the first hit's value
    "visit:source==Google",
    "visit:source==Google|Bing",
    "visit:source==(none)",
    "visit:source!=(none)",
    "visit:source!=Google",
    "visit:source!=Google|(none)",
    "visit:source~oo",
    "visit:source!~oo",
    "visit:source~none",
    "visit:source!~none",
    "visit:source==G*",
    "visit:source!=G**",
    "visit:country==DE",
    "visit:country!=DE",
    "visit:country==(none)",
    "visit:device==mobile",
    "visit:utm_campaign==(none)",
    "visit:utm_campaign!=(none)",
    "visit:pixel_ratio==2.0",
    "visit:pixel_ratio!=2.0",
    "visit:pixel_ratio==(none)",
    "visit:entry_page==/blog/**",
    "visit:entry_page==(none)",
    "visit:entry_page!=/",
    # together
    "visit:source==Google;visit:device==mobile",
    "visit:country==DE;event:page==/blog/**",
    "visit:source!=Google;event:page!=(none)",
    "visit:country!=(none);event:props:plan!=pro",
    "event:page~blog;event:page!=/blog/**",
]

GOALS: list[dict[str, Any]] = [
    {"page": "/blog/**"},
    {"page": "/blog/*"},
    {"page": "/docs/a_b"},
    {"page": "/**"},
    {"event": "signup"},
    {"name": "Pro", "event": "signup", "props": {"plan": "pro"}},
    {"event": "purchase", "props": {"plan": "pro"}},
    {"event": "click", "props": {"other": "x"}},
]

GOAL_FILTERS = [
    "event:goal==Visit /blog/**",
    "event:goal==Visit /blog/*|signup",
    "event:goal==Visit /docs/a_b",
    "event:goal==Visit /**",
    "event:goal==Pro",
    "event:goal==purchase|click",
    "event:goal~Visit",
    "event:goal==Visit /blog/**;visit:source!=Google",
    "event:goal==signup;visit:country==DE",
]


# -- the walk -----------------------------------------------------------------------------------
def like(value: str, glob: str) -> bool:
    """The glob as the filters read one with ``**`` only: a LIKE pattern, ``**`` = anything."""
    return re.fullmatch(".*".join(re.escape(p) for p in glob.split("**")), value, re.S) is not None


def glob_match(value: str, glob: str) -> bool:
    if "*" not in glob:
        return value == glob
    if "*" not in glob.replace("**", ""):
        return like(value, glob)
    return re.fullmatch(glob_to_regex(glob), value) is not None


def shown(value: object) -> str:
    if value is None or value == "":
        return NONE
    return str(value)


def matches(f: Filter, value: object) -> bool:
    v = shown(value)
    if f.op in ("~", "!~"):
        hit = any(a in v for a in f.alternatives)
    else:
        hit = any(glob_match(v, a) for a in f.alternatives)
    return not hit if f.op in ("!=", "!~") else hit


def completes(goal: Goal, h: Hit) -> bool:
    if goal.page:
        return h.event == "pageview" and glob_match(h.path or "", goal.page)
    return h.event == goal.event and all(
        (h.props or {}).get(k, "") == v for k, v in goal.props.items()
    )


def event_value(h: Hit, short: str) -> object:
    if short.startswith("props:"):
        return (h.props or {}).get(short[len("props:") :])
    return getattr(h, EVENT[short])


def visit_value(first: Hit, first_pageview: Hit | None, short: str) -> object:
    if short == "entry_page":
        return first_pageview.path if first_pageview else None
    value = getattr(first, VISIT[short])
    return str(value) if isinstance(value, float) else value


def walk(all_hits: list[Hit], filters: tuple[Filter, ...], goals: list[Goal]) -> dict[str, Any]:
    people = [h for h in all_hits if not h.bot]
    by_session: dict[str, list[Hit]] = {}
    for h in people:
        by_session.setdefault(str(h.session_id), []).append(h)
    kept_sessions = set()
    sources = {}
    for sid, shits in by_session.items():
        first = min(shits, key=lambda h: h.ts)
        pvs = [h for h in shits if h.event == "pageview"]
        first_pv = min(pvs, key=lambda h: h.ts) if pvs else None
        sources[sid] = shown(first.source)
        ok = True
        for f in filters:
            kind, _, short = f.dimension.partition(":")
            if kind == "visit":
                ok = ok and matches(f, visit_value(first, first_pv, short))
        if ok:
            kept_sessions.add(sid)

    def event_ok(h: Hit) -> bool:
        for f in filters:
            if f.dimension == "event:goal":
                chosen = matching_goals(f, goals)
                if not any(completes(g, h) for g in chosen):
                    return False
            elif f.dimension.startswith("event:"):
                short = f.dimension[len("event:") :]
                if not matches(f, event_value(h, short)):
                    return False
        return True

    kept = [h for h in people if str(h.session_id) in kept_sessions and event_ok(h)]
    visits = {str(h.session_id) for h in kept}
    by_source: dict[str, int] = {}
    for sid in visits:
        by_source[sources[sid]] = by_source.get(sources[sid], 0) + 1
    pages: dict[str, set[str]] = {}
    for h in kept:
        if h.event == "pageview":
            pages.setdefault(shown(h.path), set()).add(str(h.visitor_id))
    return {
        "pageviews": sum(1 for h in kept if h.event == "pageview"),
        "events": len(kept),
        "visitors": len({h.visitor_id for h in kept}),
        "visits": len(visits),
        "pages": sorted((-len(v), k, len(v)) for k, v in pages.items()),
        "sources": sorted(by_source.items()),
    }


# -- the engine ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DuckDBStore, App]]:
    store = DuckDBStore(str(Path(tmp_path_factory.mktemp("shapes")) / "s.duckdb"))
    app = App(id=APP_ID, name="shapes", url="https://site.example", timezone="UTC")
    store.create_app(app)
    fold_in(Rollups(store, lambda _: "UTC"), hits_to_table(hits()))
    book = GoalBook(store, FrozenClock(NOW_MS))
    for goal in GOALS:
        book.add_goal(app, **goal)
    yield store, app
    store.close()


@pytest.fixture(scope="module", params=["sessions from hits", "sessions table"])
def engine(request: pytest.FixtureRequest, world: tuple[DuckDBStore, App]) -> QueryEngine:
    return QueryEngine(world[0], FrozenClock(NOW_MS), use_rollups=request.param == "sessions table")


def answers(engine: QueryEngine, app: App, text: str) -> dict[str, Any]:
    q = QuerySpec(app, "day", "2026-02-01", parse_filters(text))
    got = engine.aggregate(q, ["pageviews", "events", "visitors", "visits"])
    pages = engine.breakdown(q, "event:page", ["visitors", "pageviews"], limit=100)
    sources = engine.breakdown(q, "visit:source", ["visits"], limit=100)
    return {
        **{m: r["value"] for m, r in got.items()},
        "pages": sorted((-r["visitors"], r["page"], r["visitors"]) for r in pages),
        "sources": sorted((r["source"], r["visits"]) for r in sources if r["visits"]),
    }


def test_the_sessions_table_path_is_taken(
    engine: QueryEngine, world: tuple[DuckDBStore, App]
) -> None:
    app = world[1]
    w = engine.window(QuerySpec(app, "day", "2026-02-01"))
    route = engine._route(QuerySpec(app, "day", "2026-02-01"), w, None, ["visits"])
    assert route.sessions_table == (engine.fast is not None)


@pytest.mark.parametrize("text", FILTERS)
def test_filters_match_the_walk(
    engine: QueryEngine, world: tuple[DuckDBStore, App], text: str
) -> None:
    store, app = world
    expected = walk(hits(), parse_filters(text), store.list_goals(app.id))
    assert answers(engine, app, text) == expected


@pytest.mark.parametrize("text", GOAL_FILTERS)
def test_goal_filters_match_the_walk(
    engine: QueryEngine, world: tuple[DuckDBStore, App], text: str
) -> None:
    store, app = world
    expected = walk(hits(), parse_filters(text), store.list_goals(app.id))
    assert answers(engine, app, text) == expected


def test_the_walk_sees_what_it_should(world: tuple[DuckDBStore, App]) -> None:
    """A few answers by hand, so the walk itself is pinned: NULL, '' and '(none)' are one value
    to a filter; a negation keeps them unless it names (none)."""
    store, app = world
    goals = store.list_goals(app.id)

    def pv(text: str) -> int:
        return int(walk(hits(), parse_filters(text), goals)["pageviews"])

    assert pv("event:page==(none)") == 3  # b's NULL and '' and d's literal '(none)'
    assert pv("event:page!=/") == 12 - 1  # every pageview but a's '/' (h's bot '' is none)
    assert pv("event:page!=(none)") == 12 - 3
    assert pv("event:page==/blog/**") == 2  # /blog/one, /blog/x/y; not /blog itself
    assert pv("visit:source==(none)") == 2 + 2 + 1  # b (NULL first), c (''), d ('(none)')
    assert pv("visit:source!=Google") == 12 - 2 - 3 - 1  # not a, e, h


@pytest.mark.parametrize("text", FILTERS)
def test_a_filter_names_its_column_bare_and_binds_its_values(text: str) -> None:
    """No function around the column (the engine can push the predicate into its scan), and
    no value in the text."""
    for f in parse_filters(text):
        sql = Builder("duckdb").condition(f, "h")
        if f.dimension == "visit:referrer":  # grouped as shown (host/path): a function by design
            continue
        assert "coalesce" not in sql.text and "nullif" not in sql.text, sql.text
        literals = sql.text.replace("''", "").replace("ESCAPE '\\'", "")
        assert "'" not in literals, sql.text  # values are parameters: no quoted text but ''
        assert sql.text.count("?") == len(sql.params)
