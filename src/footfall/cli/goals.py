"""`footfall goals …` and `footfall funnels …`: an app's goals and funnels (footfall.goals)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click

from footfall.cli.common import db_option, find_app, open_registry, store_option
from footfall.clock import SystemClock
from footfall.goals import GoalBook, GoalError, parse_props
from footfall.model import App, Funnel, Goal
from footfall.store.base import Store


@contextmanager
def app_goals(db: str, store: str, app_key: str) -> Iterator[tuple[App, GoalBook, Store]]:
    """The app, its goals and funnels, and the store (closed after); a GoalError is a message
    and a non-zero exit."""
    registry = open_registry(db, store)
    try:
        yield find_app(registry, app_key), GoalBook(registry.store, SystemClock()), registry.store
    except GoalError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        registry.store.close()


def describe(goal: Goal) -> str:
    """What a goal matches, in a line: ``pageview /blog/**`` or ``event signup plan=pro``."""
    what = f"pageview {goal.page}" if goal.page else f"event {goal.event}"
    what += "".join(f" {k}={v}" for k, v in goal.props.items())
    if goal.currency:
        what += f"  (revenue: {goal.currency} from {goal.amount_prop})"
    return what


@click.group()
def goals() -> None:
    """Add, list and delete an app's goals (pageviews of a page, or events)."""


@goals.command("add")
@click.argument("app_key")
@click.option("--name", default="", help="The goal's name [default: 'Visit PAGE' or the event].")
@click.option("--page", default="", help="A pageview goal: a path glob, e.g. /pricing, /blog/**.")
@click.option("--event", default="", help="An event goal: the event's name, e.g. signup.")
@click.option(
    "--prop", "props", multiple=True, help="Event goals: only events with key=value (repeatable)."
)
@click.option("--currency", default="", help="A revenue goal: the ISO 4217 currency, e.g. EUR.")
@click.option(
    "--amount-prop",
    default="",
    help="Revenue goals: the property holding the amount [default: revenue_amount].",
)
@db_option
@store_option
def goals_add(
    app_key: str,
    name: str,
    page: str,
    event: str,
    props: tuple[str, ...],
    currency: str,
    amount_prop: str,
    db: str,
    store: str,
) -> None:
    """Add a goal to an app."""
    with app_goals(db, store, app_key) as (app, book, _):
        goal = book.add_goal(
            app,
            name=name,
            page=page,
            event=event,
            props=parse_props(props),
            currency=currency,
            amount_prop=amount_prop,
        )
    click.echo(f"added goal {goal.name!r}: {describe(goal)}")


@goals.command("list")
@click.argument("app_key")
@db_option
@store_option
def goals_list(app_key: str, db: str, store: str) -> None:
    """List an app's goals."""
    with app_goals(db, store, app_key) as (app, book, _):
        found = book.goals(app)
    if not found:
        click.echo(
            "no goals yet: add one with `footfall goals add APP --page /path` or --event NAME"
        )
        return
    width = max(len(g.name) for g in found)
    for g in found:
        click.echo(f"{g.name:{width}}  {describe(g)}")


@goals.command("delete")
@click.argument("app_key")
@click.argument("name")
@db_option
@store_option
def goals_delete(app_key: str, name: str, db: str, store: str) -> None:
    """Delete a goal by its name (a funnel's step stays until the funnel is deleted)."""
    with app_goals(db, store, app_key) as (app, book, _):
        goal = book.delete_goal(app, name)
    click.echo(f"deleted goal {goal.name!r}")


def steps_text(funnel: Funnel) -> str:
    return " → ".join(s.label for s in funnel.steps)


@click.group()
def funnels() -> None:
    """Add, list, show and delete an app's funnels (2–8 goals or pages, in order)."""


@funnels.command("add")
@click.argument("app_key")
@click.argument("name")
@click.option(
    "--step",
    "steps",
    multiple=True,
    required=True,
    help="A step, in order: a goal's name, or a page path starting with / (2–8 of them).",
)
@db_option
@store_option
def funnels_add(app_key: str, name: str, steps: tuple[str, ...], db: str, store: str) -> None:
    """Add a funnel: `footfall funnels add APP Checkout --step /cart --step /pay --step Paid`."""
    with app_goals(db, store, app_key) as (app, book, _):
        funnel = book.add_funnel(app, name, list(steps))
    click.echo(f"added funnel {funnel.name!r}: {steps_text(funnel)}")


@funnels.command("list")
@click.argument("app_key")
@db_option
@store_option
def funnels_list(app_key: str, db: str, store: str) -> None:
    """List an app's funnels."""
    with app_goals(db, store, app_key) as (app, book, _):
        found = book.funnels(app)
    if not found:
        click.echo("no funnels yet: add one with `footfall funnels add APP NAME --step … --step …`")
        return
    width = max(len(f.name) for f in found)
    for f in found:
        click.echo(f"{f.name:{width}}  {steps_text(f)}")


@funnels.command("delete")
@click.argument("app_key")
@click.argument("name")
@db_option
@store_option
def funnels_delete(app_key: str, name: str, db: str, store: str) -> None:
    """Delete a funnel by its name."""
    with app_goals(db, store, app_key) as (app, book, _):
        funnel = book.delete_funnel(app, name)
    click.echo(f"deleted funnel {funnel.name!r}")


@funnels.command("show")
@click.argument("app_key")
@click.argument("name")
@click.option("--period", default="30d", show_default=True, help="As for `footfall stats`.")
@click.option("--date", default=None, help="The period's last day (YYYY-MM-DD); custom: A,B.")
@click.option("--filter", "filters", multiple=True, help="dimension==value (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@db_option
@store_option
def funnels_show(
    app_key: str,
    name: str,
    period: str,
    date: str | None,
    filters: tuple[str, ...],
    as_json: bool,
    db: str,
    store: str,
) -> None:
    """Print a funnel's visitors and drop-off per step, exact from the raw events."""
    import msgspec

    from footfall.present.text import funnel_text
    from footfall.query import QueryEngine, QueryError, QuerySpec, parse_filters
    from footfall.store.base import StoreOutOfMemory

    try:
        with app_goals(db, store, app_key) as (app, book, opened):
            funnel = book.funnel(app, name)
            q = QuerySpec(app, period, date, parse_filters(";".join(filters)))
            result = QueryEngine(opened, SystemClock()).funnel(q, funnel)
    except QueryError as exc:
        raise click.BadParameter(exc.message, param_hint=f"--{exc.param}") from None
    except StoreOutOfMemory as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        msgspec.json.encode(result).decode() if as_json else funnel_text(app, period, result)
    )
