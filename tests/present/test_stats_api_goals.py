"""`event:goal` in the Stats API v1: a breakdown property and a filter, with Plausible's shapes;
goal names and globs are data, never SQL. Numbers: tests/query/dataset.py (7 days to 01-10)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from footfall.clock import FrozenClock
from footfall.goals import GoalBook
from footfall.hit_tables import hits_to_table
from footfall.keys import KeyRing
from footfall.model import App, Hit
from tests.live import live_server
from tests.query.dataset import APP_ID, NOW_MS, at, hits

BASE = {"site_id": APP_ID, "period": "7d", "date": "2026-01-10"}
HOSTILE = "x') OR 1=1 --  DROP TABLE events"


def purchases() -> list[Hit]:
    """Two purchases of v4 in s5 (EUR 12.50 and 7.25) and one in USD, which a EUR goal skips."""
    out = []
    for n, (amount, currency) in enumerate([("12.50", "EUR"), ("7.25", "EUR"), ("3", "USD")]):
        out.append(
            Hit(
                hit_id=f"buy-{n}",
                app_id=APP_ID,
                ts=at(f"2026-01-10 10:0{n + 1}"),
                event="Purchase",
                visitor_id="v4",
                session_id="s5",
                path="/",
                props={"revenue_amount": amount, "revenue_currency": currency},
            )
        )
    return out


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    db = Path(tmp_path_factory.mktemp("goals-api")) / "api.duckdb"
    with live_server(db, clock=FrozenClock(NOW_MS)) as server:
        app = App(id=APP_ID, name="berlin", url="https://site.example", timezone="Europe/Berlin")
        server.store.create_app(app)
        server.runtime.apps.reload()
        server.runtime.feed.write_table(hits_to_table([*hits(), *purchases()]))
        server.runtime.feed.fold()
        book = GoalBook(server.store, server.clock)
        book.add_goal(app, event="signup")
        book.add_goal(app, page="/blog/**")
        book.add_goal(app, event="Purchase", currency="EUR")
        book.add_goal(app, name=HOSTILE, page="/%'--")
        secret = KeyRing(server.store, server.clock).create()[1]
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {secret}"}) as c:
            yield c


def test_breakdown_by_goal_in_plausibles_shape(api: httpx.Client) -> None:
    r = api.get(
        "/api/v1/stats/breakdown",
        params={**BASE, "property": "event:goal", "metrics": "visitors,events,conversion_rate"},
    )
    assert r.status_code == 200, r.text
    assert r.json() == {
        "results": [
            {"goal": "Visit /blog/**", "visitors": 4, "events": 5, "conversion_rate": 66.67},
            {"goal": "Purchase", "visitors": 1, "events": 3, "conversion_rate": 16.67},
            {"goal": "signup", "visitors": 1, "events": 1, "conversion_rate": 16.67},
        ]
    }


def test_revenue_goals_answer_total_and_average_as_money(api: httpx.Client) -> None:
    r = api.get(
        "/api/v1/stats/breakdown",
        params={
            **BASE,
            "property": "event:goal",
            "metrics": "events,total_revenue,average_revenue",
            "filters": "event:goal==Purchase|signup",
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["results"] == [
        {
            "goal": "Purchase",
            "events": 3,
            "total_revenue": {
                "short": "€19.75",
                "long": "€19.75",
                "value": 19.75,
                "currency": "EUR",
            },
            "average_revenue": {
                "short": "€9.88",
                "long": "€9.88",
                "value": 9.88,
                "currency": "EUR",
            },
        },
        {"goal": "signup", "events": 1, "total_revenue": None, "average_revenue": None},
    ]


def test_a_goal_filter_gives_its_conversions_and_rate(api: httpx.Client) -> None:
    r = api.get(
        "/api/v1/stats/aggregate",
        params={
            **BASE,
            "metrics": "visitors,events,conversion_rate",
            "filters": "event:goal==signup",
        },
    )
    assert r.json() == {
        "results": {
            "visitors": {"value": 1},
            "events": {"value": 1},
            "conversion_rate": {"value": 16.67},
        }
    }
    # Plausible's example: a goal filter and a breakdown by source (the group's own rate)
    by_source = api.get(
        "/api/v1/stats/breakdown",
        params={
            **BASE,
            "property": "visit:source",
            "metrics": "visitors,conversion_rate",
            "filters": "event:goal==Visit /blog/**",
        },
    )
    assert by_source.json()["results"][0] == {
        "source": "Google",
        "visitors": 2,
        "conversion_rate": 66.67,
    }
    series = api.get(
        "/api/v1/stats/timeseries",
        params={**BASE, "period": "day", "interval": "hour", "filters": "event:goal==signup"},
    )
    assert [h for h in series.json()["results"] if h["visitors"]] == [
        {"date": "2026-01-10 00:00:00", "visitors": 1}
    ]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"filters": "event:goal==Nope"}, "filters: the app has no goal named 'Nope'"),
        ({"filters": "event:goal!=signup"}, "filters: event:goal takes == or ~"),
        ({"metrics": "total_revenue"}, "metrics: total_revenue and average_revenue"),
        ({"property": "event:goal", "metrics": "bounce_rate"}, "metrics: bounce_rate is not"),
    ],
)
def test_bad_goal_questions_are_400(
    api: httpx.Client, params: dict[str, str], message: str
) -> None:
    path = "breakdown" if "property" in params else "aggregate"
    r = api.get(f"/api/v1/stats/{path}", params={**BASE, **params})
    assert r.status_code == 400, r.text
    assert r.json()["error"].startswith(message)


def test_goal_names_and_globs_are_data(api: httpx.Client) -> None:
    r = api.get("/api/v1/stats/aggregate", params={**BASE, "filters": f"event:goal=={HOSTILE}"})
    assert r.status_code == 200 and r.json() == {"results": {"visitors": {"value": 0}}}
    whole = api.get("/api/v1/stats/aggregate", params={**BASE, "metrics": "events"})
    assert whole.json() == {"results": {"events": {"value": 14}}}  # every hit still there


def test_the_openapi_description_names_the_goal_dimension(api: httpx.Client) -> None:
    doc = api.get("/api/v1/openapi.json").text
    assert "event:goal" in doc and "total_revenue" in doc


def v2(api: httpx.Client, **body: object) -> httpx.Response:
    return api.post(
        "/api/v2/query",
        json={"site_id": APP_ID, "date_range": ["2026-01-04", "2026-01-10"], **body},
    )


def test_v2_answers_event_goal_as_the_v1_breakdown_does(api: httpx.Client) -> None:
    r = v2(api, metrics=["visitors", "events", "conversion_rate"], dimensions=["event:goal"])
    assert r.status_code == 200, r.text
    assert r.json()["results"] == [
        {"metrics": [4, 5, 66.67], "dimensions": ["Visit /blog/**"]},
        {"metrics": [1, 3, 16.67], "dimensions": ["Purchase"]},
        {"metrics": [1, 1, 16.67], "dimensions": ["signup"]},
    ]
    filtered = v2(
        api,
        metrics=["visitors", "events", "conversion_rate"],
        filters=[["is", "event:goal", ["signup"]]],
    )
    assert filtered.status_code == 200, filtered.text
    assert filtered.json()["results"] == [{"metrics": [1, 1, 16.67], "dimensions": []}]


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"dimensions": ["event:goal", "visit:country"]}, "#/dimensions"),
        ({"filters": [["is", "event:goal", ["No such goal"]]]}, ""),
    ],
)
def test_v2_goal_questions_it_cannot_answer_are_400(
    api: httpx.Client, body: dict[str, object], pointer: str
) -> None:
    r = v2(api, metrics=["visitors"], **body)
    assert r.status_code == 400 and r.json()["error"].startswith(pointer)
