"""What a goal or a funnel may be (footfall.goals): every bad input is a GoalError that says why."""

from __future__ import annotations

from pathlib import Path

import pytest

from footfall.clock import FrozenClock
from footfall.goals import MAX_STEPS, GoalBook, GoalError, make_goal, parse_props
from footfall.model import App, FunnelStep
from footfall.store.duckdb import DuckDBStore

APP = App(id="44444444-4444-4444-8444-444444444444", name="Shop")


def test_goals_are_named_as_plausible_names_them_unless_named() -> None:
    page = make_goal(APP.id, page=" /blog/** ")
    assert (page.name, page.page, page.kind) == ("Visit /blog/**", "/blog/**", "page")
    event = make_goal(APP.id, event="Signup", props={"plan": "pro"})
    assert (event.name, event.kind, event.props) == ("Signup", "event", {"plan": "pro"})
    paid = make_goal(APP.id, name="Paid", event="purchase", currency="eur")
    assert (paid.currency, paid.amount_prop) == ("EUR", "revenue_amount")  # Plausible's field
    own = make_goal(APP.id, event="order", currency="USD", amount_prop="total")
    assert own.amount_prop == "total"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "a page .* or an event"),
        ({"page": "/a", "event": "b"}, "not both"),
        ({"name": "   ", "page": ""}, "a page"),
        ({"event": "x", "name": "  \t"}, None),  # blank name: the event's name is used
        ({"page": "pricing"}, "starts with /"),
        ({"page": "/a b"}, "no spaces"),
        ({"page": "/a/***"}, r"\*\*"),
        ({"page": "/" + "a" * 1024}, "at most 1024"),
        ({"event": "pageview"}, "page goal"),
        ({"event": "x" * 129}, "1–128"),
        ({"event": "x", "name": "/x"}, "may not start with /"),
        ({"event": "x", "name": "a|b"}, r"\| or ;"),
        ({"event": "x", "name": "n" * 121}, "at most 120"),
        ({"event": "x", "currency": "EURO"}, "ISO 4217"),
        ({"event": "x", "amount_prop": "total"}, "needs a currency"),
        ({"page": "/x", "currency": "EUR"}, "event goals"),
        ({"page": "/x", "props": {"a": "b"}}, "event goals"),
        ({"event": "x", "props": {"": "b"}}, "bad property name"),
        ({"event": "x", "props": {"a": ""}}, "needs a value"),
    ],
)
def test_a_bad_goal_says_what_is_wrong(fields: dict[str, object], message: str | None) -> None:
    if message is None:
        assert make_goal(APP.id, **fields).name == "x"  # type: ignore[arg-type]
        return
    with pytest.raises(GoalError, match=message):
        make_goal(APP.id, **fields)  # type: ignore[arg-type]


def test_props_are_written_key_equals_value() -> None:
    assert parse_props(["plan=pro", " size = L ", ""]) == {"plan": "pro", "size": "L"}
    with pytest.raises(GoalError, match="key=value"):
        parse_props(["plan"])


@pytest.fixture
def book(tmp_path: Path) -> GoalBook:
    store = DuckDBStore(str(tmp_path / "g.duckdb"))
    store.create_app(APP)
    return GoalBook(store, FrozenClock())


def test_names_are_unique_and_funnels_take_two_to_eight_known_steps(book: GoalBook) -> None:
    book.add_goal(APP, event="Signup")
    with pytest.raises(GoalError, match="named 'Signup' already"):
        book.add_goal(APP, event="other", name="Signup")
    funnel = book.add_funnel(APP, "Join", ["/pricing", "", "Signup"])  # blank lines are skipped
    assert funnel.steps == [FunnelStep(page="/pricing"), FunnelStep(goal="Signup")]
    assert [s.label for s in funnel.steps] == ["Visit /pricing", "Signup"]
    with pytest.raises(GoalError, match="2 to 8 steps .*has 1"):
        book.add_funnel(APP, "Short", ["/pricing"])
    with pytest.raises(GoalError, match=f"has {MAX_STEPS + 1}"):
        book.add_funnel(APP, "Long", [f"/p{n}" for n in range(MAX_STEPS + 1)])
    with pytest.raises(GoalError, match="no goal named 'Nope'"):
        book.add_funnel(APP, "Unknown", ["/a", "Nope"])
    with pytest.raises(GoalError, match="needs a name"):
        book.add_funnel(APP, " ", ["/a", "/b"])
    with pytest.raises(GoalError, match="named 'Join' already"):
        book.add_funnel(APP, "Join", ["/a", "/b"])
    with pytest.raises(GoalError, match="step of the funnel 'Join'"):
        book.delete_goal(APP, "Signup")  # a funnel's step stays
    assert book.delete_funnel(APP, "join").name == "Join"  # names ignore case when unambiguous
    assert book.delete_goal(APP, "Signup").name == "Signup"
    assert book.goals(APP) == [] and book.funnels(APP) == []
    with pytest.raises(GoalError, match="no goal"):
        book.delete_goal(APP, "Signup")
