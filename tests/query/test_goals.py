"""Goals and funnels in the query engine, exact on the raw events.

Two ways: answers worked out by hand on tests/query/dataset.py (see its table), and a generated
data set whose answers this file computes itself, hit by hit in Python, from the same hits."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from footfall.clock import FrozenClock
from footfall.globs import glob_to_regex
from footfall.goals import GoalBook
from footfall.hit_tables import hits_to_table
from footfall.model import App, Funnel, FunnelStep, Goal, Hit
from footfall.query import QueryEngine, QueryError, QuerySpec, parse_filters
from footfall.store.duckdb import DuckDBStore
from tests.query.dataset import NOW_MS, load

WEEK = ("7d", "2026-01-10")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DuckDBStore, App, GoalBook]]:
    store, berlin, _ = load(Path(tmp_path_factory.mktemp("goals")) / "g.duckdb")
    book = GoalBook(store, FrozenClock(NOW_MS))
    book.add_goal(berlin, event="signup")
    book.add_goal(berlin, page="/blog/**")
    book.add_goal(berlin, page="/")
    book.add_goal(berlin, name="Pro signup", event="signup", props={"plan": "pro"})
    book.add_goal(berlin, name="Basic signup", event="signup", props={"plan": "basic"})
    yield store, berlin, book
    store.close()


@pytest.fixture(scope="module")
def engine(world: tuple[DuckDBStore, App, GoalBook]) -> QueryEngine:
    return QueryEngine(world[0], FrozenClock(NOW_MS))


def spec(app: App, filters: str = "", period: tuple[str, str] = WEEK) -> QuerySpec:
    return QuerySpec(app, period[0], period[1], parse_filters(filters))


def steps(*texts: str) -> Funnel:
    made = [FunnelStep(page=t) if t.startswith("/") else FunnelStep(goal=t) for t in texts]
    return Funnel(id="f", app_id="", name="test", steps=made)


# -- by hand ----------------------------------------------------------------------------------
def test_goal_breakdown_counts_uniques_completions_and_conversion(
    engine: QueryEngine, world: tuple[DuckDBStore, App, GoalBook]
) -> None:
    berlin = world[1]
    rows = engine.breakdown(spec(berlin), "event:goal", ["visitors", "events", "conversion_rate"])
    # 6 visitors in the week (the bot b1 is not one); /blog/**: s8 (v6), s1 ×2 (v1), s2, s4
    assert rows == [
        {"goal": "Visit /blog/**", "visitors": 4, "events": 5, "conversion_rate": 66.67},
        {"goal": "Visit /", "visitors": 3, "events": 3, "conversion_rate": 50.0},  # v5, v1, v4
        {"goal": "Pro signup", "visitors": 1, "events": 1, "conversion_rate": 16.67},  # s3
        {"goal": "signup", "visitors": 1, "events": 1, "conversion_rate": 16.67},  # the same hit
    ]  # "Basic signup" was never completed: not listed (as Plausible)
    one_day = engine.breakdown(spec(berlin, period=("day", "2026-01-09")), "event:goal", ["events"])
    assert one_day == [{"goal": "Visit /blog/**", "events": 4}, {"goal": "Visit /", "events": 1}]


def test_a_goal_filter_keeps_its_completions_and_rates_them_against_everyone(
    engine: QueryEngine, world: tuple[DuckDBStore, App, GoalBook]
) -> None:
    berlin = world[1]
    got = engine.aggregate(
        spec(berlin, "event:goal==Visit /blog/**"), ["visitors", "events", "conversion_rate"]
    )
    assert got == {
        "visitors": {"value": 4},
        "events": {"value": 5},
        "conversion_rate": {"value": 66.67},
    }
    either = engine.aggregate(spec(berlin, "event:goal==signup|Visit /"), ["visitors", "events"])
    assert either == {"visitors": {"value": 3}, "events": {"value": 4}}  # v1 in both
    contains = engine.aggregate(spec(berlin, "event:goal~signup"), ["events"])
    assert contains == {"events": {"value": 1}}  # one hit, though two goals match it
    # under a visit filter the rate's whole is that filter's visitors: Google brought v1, v3, v4
    by_source = engine.breakdown(
        spec(berlin, "event:goal==Visit /blog/**"), "visit:source", ["visitors", "conversion_rate"]
    )
    assert {r["source"]: (r["visitors"], r["conversion_rate"]) for r in by_source} == {
        "Google": (2, 66.67),
        "Bing": (1, 100.0),
        "(none)": (1, 50.0),  # direct: v2 converted, v5 did not
    }
    narrowed = engine.breakdown(
        spec(berlin, "event:goal==signup|Pro signup"), "event:goal", ["visitors"]
    )
    assert narrowed == [{"goal": "Pro signup", "visitors": 1}, {"goal": "signup", "visitors": 1}]


def test_bad_goal_questions_name_the_parameter(
    engine: QueryEngine, world: tuple[DuckDBStore, App, GoalBook]
) -> None:
    berlin = world[1]
    with pytest.raises(QueryError, match="no goal named 'Nope'") as bad:
        engine.aggregate(spec(berlin, "event:goal==Nope"), ["visitors"])
    assert bad.value.param == "filters"
    with pytest.raises(QueryError, match="== or ~"):
        engine.aggregate(spec(berlin, "event:goal!=signup"), ["visitors"])
    with pytest.raises(QueryError, match="not available by event:goal") as metric:
        engine.breakdown(spec(berlin), "event:goal", ["bounce_rate"])
    assert metric.value.param == "metrics"
    with pytest.raises(QueryError, match="breakdown by event:goal"):
        engine.aggregate(spec(berlin), ["total_revenue"])


def test_funnels_count_visitors_whose_visit_took_the_steps_in_order(
    engine: QueryEngine, world: tuple[DuckDBStore, App, GoalBook]
) -> None:
    berlin = world[1]
    q = spec(berlin)

    def visitors(funnel: Funnel, query: QuerySpec = q) -> list[int]:
        return [s["visitors"] for s in engine.funnel(query, funnel)["steps"]]

    # s1 (v1): / → /blog/one → /blog/two; s7 (v5) and s5 (v4): / only; s2, s4, s8 start on a post
    result = engine.funnel(q, steps("/", "/blog/**", "/blog/two"))
    assert [s["visitors"] for s in result["steps"]] == [3, 1, 1]
    assert result["steps"][1] == {
        "label": "Visit /blog/**",
        "visitors": 1,
        "dropoff": 2,
        "dropoff_percentage": 66.67,
        "conversion_rate": 33.33,
        "conversion_rate_step": 33.33,
    }
    assert (result["all_visitors"], result["entering_visitors"]) == (6, 3)
    assert result["never_entering_visitors"] == 3 and result["entering_visitors_percentage"] == 50
    assert visitors(steps("/blog/two", "/blog/one")) == [2, 0]  # order matters
    assert visitors(steps("/blog/**", "/blog/**")) == [4, 1]  # one hit is never two steps
    assert visitors(steps("/pricing", "signup")) == [1, 1]  # s3, across midnight
    assert visitors(steps("/blog/**", "signup")) == [4, 0]  # v1 did these in two visits
    google = spec(berlin, "visit:source==Google")  # s1, s4, s5
    assert visitors(steps("/", "/blog/**"), google) == [2, 1]
    assert engine.funnel(google, steps("/", "/blog/**"))["all_visitors"] == 3
    priced = spec(berlin, "event:page==/pricing")  # the visits with such a hit: s3 only
    assert visitors(steps("/pricing", "Pro signup"), priced) == [1, 1]


# -- computed independently ---------------------------------------------------------------------
DAY_MS = 86_400_000
GEN_APP = "33333333-3333-4333-8333-333333333333"
PAGES = ["/", "/pricing", "/blog/a", "/blog/b", "/blog/2026/x", "/docs/a/b", "/cart", "/pay"]
END = int(datetime(2026, 1, 11, tzinfo=UTC).timestamp() * 1000)  # the week ends 2026-01-10


def generated() -> list[Hit]:
    """~3,000 hits of 400 visitors in 1,000 visits over 9 days (2 of them before the week), with
    signups, purchases (some amounts in another currency or not numbers) and bots."""
    rng = random.Random(21)
    out: list[Hit] = []
    n = 0
    for visit in range(1000):
        visitor = f"v{rng.randrange(400)}"
        bot = "Bot" if rng.random() < 0.05 else None
        ts = END - rng.randrange(9 * DAY_MS)
        for _ in range(rng.randrange(1, 9)):
            ts += rng.randrange(1, 120_000)
            n += 1
            roll = rng.random()
            event, props = "pageview", None
            if roll < 0.08:
                event, props = "signup", {"plan": rng.choice(["pro", "basic"])}
            elif roll < 0.14:
                currency = rng.choice(["EUR", "EUR", "EUR", "eur", "USD"])
                amount = rng.choice(["10.50", "4.25", "99", "0.1", "x", "1e2"])
                props = {"revenue_amount": amount, "revenue_currency": currency}
                if rng.random() < 0.2:
                    props = {"revenue_amount": amount}  # no currency of its own
                event = "purchase"
            out.append(
                Hit(
                    hit_id=f"h{n:05d}",
                    app_id=GEN_APP,
                    ts=ts,
                    event=event,
                    visitor_id=visitor,
                    session_id=f"s{visit}",
                    path=rng.choice(PAGES),
                    bot=bot,
                    source=rng.choice(["Google", "Bing", None]),
                    props=props,
                )
            )
    return out


GEN_GOALS = [
    dict(page="/blog/**"),
    dict(page="/blog/*"),
    dict(page="/"),
    dict(event="signup"),
    dict(name="Pro", event="signup", props={"plan": "pro"}),
    dict(name="Bought", event="purchase", currency="EUR"),
]


@pytest.fixture(scope="module")
def gen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[QueryEngine, App, list[Goal]]]:
    store = DuckDBStore(str(Path(tmp_path_factory.mktemp("gen")) / "gen.duckdb"))
    app = App(id=GEN_APP, name="gen")
    store.create_app(app)
    store.insert_events(hits_to_table(generated()))
    book = GoalBook(store, FrozenClock(NOW_MS))
    goals = [book.add_goal(app, **fields) for fields in GEN_GOALS]  # type: ignore[arg-type]
    yield QueryEngine(store, FrozenClock(END)), app, goals
    store.close()


def in_week(hits: list[Hit]) -> list[Hit]:
    start = END - 7 * DAY_MS
    return [h for h in hits if start <= h.ts < END and not h.bot]


def completes(h: Hit, g: Goal) -> bool:
    if g.page:
        return (
            h.event == "pageview" and re.fullmatch(glob_to_regex(g.page), h.path or "") is not None
        )
    return h.event == g.event and all((h.props or {}).get(k) == v for k, v in g.props.items())


def amount(h: Hit, g: Goal) -> float | None:
    props = h.props or {}
    if props.get("revenue_currency", g.currency).upper() != g.currency:
        return None
    try:
        return float(props.get(g.amount_prop, ""))
    except ValueError:
        return None


def test_goal_numbers_equal_a_count_of_the_raw_hits(
    gen: tuple[QueryEngine, App, list[Goal]],
) -> None:
    engine, app, goals = gen
    hits = in_week(generated())
    everyone = len({h.visitor_id for h in hits})
    expected = {}
    for g in goals:
        done = [h for h in hits if completes(h, g)]
        if not done:
            continue
        amounts = [a for a in (amount(h, g) for h in done) if a is not None]
        expected[g.name] = {
            "visitors": len({h.visitor_id for h in done}),
            "events": len(done),
            "conversion_rate": round(100 * len({h.visitor_id for h in done}) / everyone, 2),
            "revenue": round(sum(amounts), 2) if g.currency and amounts else None,
            "average": round(sum(amounts) / len(amounts), 2) if g.currency and amounts else None,
        }
    metrics = ["visitors", "events", "conversion_rate", "total_revenue", "average_revenue"]
    rows = engine.breakdown(QuerySpec(app, *WEEK), "event:goal", metrics, limit=100)
    got = {
        r["goal"]: {
            "visitors": r["visitors"],
            "events": r["events"],
            "conversion_rate": r["conversion_rate"],
            "revenue": r["total_revenue"]["value"] if r["total_revenue"] else None,  # type: ignore[index]
            "average": r["average_revenue"]["value"] if r["average_revenue"] else None,  # type: ignore[index]
        }
        for r in rows
    }
    assert got == expected
    assert expected["Bought"]["revenue"]  # the data set has revenue in it
    bought = next(r for r in rows if r["goal"] == "Bought")
    assert bought["total_revenue"]["currency"] == "EUR"  # type: ignore[index]
    for g in goals:  # each goal as a filter: the same uniques, completions and rate
        q = QuerySpec(app, *WEEK, filters=parse_filters(f"event:goal=={g.name}"))
        totals = engine.aggregate(q, ["visitors", "events", "conversion_rate"])
        want = expected.get(g.name, {"visitors": 0, "events": 0, "conversion_rate": 0.0})
        assert {m: totals[m]["value"] for m in totals} == {
            m: want[m] for m in ("visitors", "events", "conversion_rate")
        }


def reached(visit: list[Hit], funnel: list[FunnelStep], goals: list[Goal]) -> list[Hit]:
    """The hits that took each step, in order: the first match after the step before."""
    by_name = {g.name: g for g in goals}
    taken: list[Hit] = []
    ordered = iter(sorted(visit, key=lambda h: (h.ts, h.hit_id)))
    for step in funnel:
        for h in ordered:
            page = (
                step.page
                and h.event == "pageview"
                and re.fullmatch(glob_to_regex(step.page), h.path or "")
            )
            if page or (step.goal and completes(h, by_name[step.goal])):
                taken.append(h)
                break
        else:
            break
    return taken


@pytest.mark.parametrize(
    "texts",
    [
        ("/", "/pricing"),
        ("/blog/**", "/cart", "/pay", "Bought"),
        ("/", "/blog/*", "/blog/**", "signup", "Pro", "/cart", "/pay", "Bought"),  # 8 steps
        ("/blog/**", "/blog/**", "/blog/**"),
        ("signup", "/"),
    ],
)
@pytest.mark.parametrize("filters", ["", "visit:source==Google", "event:page==/cart"])
def test_funnel_numbers_equal_a_walk_through_each_visit(
    gen: tuple[QueryEngine, App, list[Goal]], texts: tuple[str, ...], filters: str
) -> None:
    engine, app, goals = gen
    funnel = steps(*texts)
    visits: dict[str, list[Hit]] = {}
    for h in in_week(generated()):
        visits.setdefault(str(h.session_id), []).append(h)
    if filters.startswith("visit:source"):  # a visit's source is its first hit's
        visits = {
            k: v
            for k, v in visits.items()
            if min(v, key=lambda h: (h.ts, h.hit_id)).source == "Google"
        }
    elif filters:
        visits = {k: v for k, v in visits.items() if any(h.path == "/cart" for h in v)}
    counts = [set[str]() for _ in funnel.steps]
    for visit in visits.values():
        for k, h in enumerate(reached(visit, funnel.steps, goals)):
            counts[k].add(str(h.visitor_id))
    result = engine.funnel(QuerySpec(app, *WEEK, filters=parse_filters(filters)), funnel)
    assert [s["visitors"] for s in result["steps"]] == [len(c) for c in counts]
    assert result["all_visitors"] == len({h.visitor_id for v in visits.values() for h in v})
    assert counts[0]  # the walk found visitors: the comparison says something
