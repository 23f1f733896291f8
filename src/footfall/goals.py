"""Goals and funnels: what they may be, checked here once for the CLI and the dashboard.

A **goal** is a pageview of a path glob (``/pricing``, ``/blog/**``; footfall.globs) or an event by
name, optionally only when some of its properties have given values; a goal with a currency
counts revenue from a property of its events (Plausible's ``revenue`` field arrives as
``revenue_amount`` and ``revenue_currency``, the default). Its name is unique within the app and
is what the ``event:goal`` dimension shows and filters on (a page goal is called
``Visit <glob>`` unless named, an event goal after its event, as Plausible does).

A **funnel** is an ordered list of 2–8 steps, each a goal of the app (by name) or a page glob; the
query engine counts the visitors whose visit took them in order (docs/query.md).

Every value here is data: the query layer binds names, globs and property values, never formats
them into SQL. Bad input raises :class:`GoalError` with a message for the person who typed it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from footfall.clock import Clock
from footfall.model import App, Funnel, FunnelStep, Goal, new_uuid
from footfall.store.base import Store, StoreError

MAX_GOALS = 200  # per app: each goal is a condition in every goal query
MAX_FUNNELS = 50
MIN_STEPS, MAX_STEPS = 2, 8  # as Plausible
MAX_NAME = 120
MAX_GLOB = 1024  # the events' path cap
MAX_EVENT = 128  # the events' name cap
MAX_PROPS = 10
MAX_PROP_VALUE = 500
DEFAULT_AMOUNT = (
    "revenue_amount"  # where Plausible's revenue field is stored (collect/plausible.py)
)
CURRENCY_PROP = "revenue_currency"  # an event's own currency, when it says one
_PROP_KEY = re.compile(r"[^\x00-\x1f\x7f]{1,64}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CURRENCY = re.compile(r"[A-Z]{3}")


class GoalError(ValueError):
    """A bad goal or funnel, with a message for the user."""


def check_name(name: str, what: str = "goal") -> str:
    name = name.strip()
    if not name:
        raise GoalError(f"a {what} needs a name")
    if len(name) > MAX_NAME:
        raise GoalError(f"a {what}'s name has at most {MAX_NAME} characters")
    if _CONTROL.search(name):
        raise GoalError(f"a {what}'s name may not contain control characters")
    if what == "goal" and ("|" in name or ";" in name):
        raise GoalError(
            "a goal's name may not contain | or ; (filters use them to separate values)"
        )
    if what == "goal" and name.startswith("/"):
        raise GoalError(
            "a goal's name may not start with / (a funnel step that does is a page); "
            "a page goal is called 'Visit /path' unless named"
        )
    return name


def check_glob(pattern: str) -> str:
    """A path glob as page goals and funnel steps take it: ``/``-rooted, no spaces or control
    characters, ``*`` (within a segment) and ``**`` (across) but no longer runs of stars."""
    pattern = pattern.strip()
    if not pattern:
        raise GoalError("a page needs a path, e.g. /pricing or /blog/**")
    if not pattern.startswith("/"):
        raise GoalError(f"a page path starts with /, e.g. /pricing or /blog/** (not {pattern!r})")
    if len(pattern) > MAX_GLOB:
        raise GoalError(f"a page path has at most {MAX_GLOB} characters")
    if _CONTROL.search(pattern) or any(c.isspace() for c in pattern):
        raise GoalError(f"a page path has no spaces or control characters: {pattern!r}")
    if "***" in pattern:
        raise GoalError(f"{pattern!r}: use * (within a segment) or ** (across segments)")
    return pattern


def check_props(props: Mapping[str, str]) -> dict[str, str]:
    if len(props) > MAX_PROPS:
        raise GoalError(f"a goal matches at most {MAX_PROPS} properties")
    out: dict[str, str] = {}
    for key, value in props.items():
        key = key.strip()
        if not _PROP_KEY.fullmatch(key):
            raise GoalError(f"bad property name {key!r} (1–64 characters, no control characters)")
        if value == "" or len(value) > MAX_PROP_VALUE or _CONTROL.search(value):
            raise GoalError(
                f"property {key!r} needs a value of 1–{MAX_PROP_VALUE} characters,"
                " no control characters"
            )
        out[key] = value
    return out


def parse_props(pairs: Iterable[str]) -> dict[str, str]:
    """``key=value`` texts (the CLI's ``--prop``, the settings form's lines) as a mapping."""
    out: dict[str, str] = {}
    for pair in pairs:
        if not pair.strip():
            continue
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise GoalError(f"write a property as key=value, not {pair!r}")
        out[key.strip()] = value.strip()
    return check_props(out)


def make_goal(
    app_id: str,
    *,
    name: str = "",
    page: str = "",
    event: str = "",
    props: Mapping[str, str] | None = None,
    currency: str = "",
    amount_prop: str = "",
    created: int = 0,
) -> Goal:
    """A checked goal (not yet stored)."""
    page, event = page.strip(), event.strip()
    if not page and not event:
        raise GoalError("a goal needs a page (a path glob such as /pricing) or an event's name")
    if page and event:
        raise GoalError("a goal is either a page (a path glob) or an event (its name), not both")
    props = check_props(props or {})
    if page:
        page = check_glob(page)
        if props:
            raise GoalError("property matches are for event goals; a page goal matches the path")
    else:
        if len(event) > MAX_EVENT or _CONTROL.search(event):
            raise GoalError(f"an event name has 1–{MAX_EVENT} characters, no control characters")
        if event == "pageview":
            raise GoalError("a goal for pageviews is a page goal: give the page's path instead")
    currency = currency.strip().upper()
    amount_prop = amount_prop.strip()
    if currency:
        if not _CURRENCY.fullmatch(currency):
            raise GoalError(
                f"a currency is a three-letter ISO 4217 code such as EUR, not {currency!r}"
            )
        if page:
            raise GoalError("revenue is counted for event goals (a pageview has no amount)")
        amount_prop = amount_prop or DEFAULT_AMOUNT
        if not _PROP_KEY.fullmatch(amount_prop):
            raise GoalError(f"bad property name {amount_prop!r} for the amount")
    elif amount_prop:
        raise GoalError("an amount property needs a currency (a revenue goal)")
    name = check_name(name.strip() or (f"Visit {page}" if page else event))
    return Goal(
        id=new_uuid(),
        app_id=app_id,
        name=name,
        page=page,
        event=event,
        props=props,
        currency=currency,
        amount_prop=amount_prop,
        created=created,
    )


def make_step(text: str, goals: Sequence[Goal]) -> FunnelStep:
    """``/path`` (a glob) is a page step; anything else names one of the app's goals."""
    text = text.strip()
    if not text:
        raise GoalError("a funnel step is a goal's name or a page path")
    if text.startswith("/"):
        return FunnelStep(page=check_glob(text))
    if not any(g.name == text for g in goals):
        known = ", ".join(repr(g.name) for g in goals[:20]) or "none yet"
        raise GoalError(
            f"no goal named {text!r} in this app (goals: {known}); a page step starts with /"
        )
    return FunnelStep(goal=text)


def make_funnel(
    app_id: str, name: str, steps: Sequence[str], goals: Sequence[Goal], *, created: int = 0
) -> Funnel:
    """A checked funnel (not yet stored): 2–8 steps, each a goal's name or a page glob."""
    name = check_name(name, "funnel")
    texts = [s for s in steps if s.strip()]
    if not MIN_STEPS <= len(texts) <= MAX_STEPS:
        raise GoalError(
            f"a funnel has {MIN_STEPS} to {MAX_STEPS} steps (this one has {len(texts)})"
        )
    made = [make_step(t, goals) for t in texts]
    return Funnel(id=new_uuid(), app_id=app_id, name=name, steps=made, created=created)


def find(items: Sequence[Goal] | Sequence[Funnel], key: str) -> Goal | Funnel | None:
    """A goal or funnel by name (exactly, else ignoring case) or by id."""
    key = key.strip()
    for item in items:
        if item.name == key or item.id == key:
            return item
    lowered = [i for i in items if i.name.lower() == key.lower()]
    return lowered[0] if len(lowered) == 1 else None


class GoalBook:
    """An app's goals and funnels in the store: made, listed and deleted through here."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def goals(self, app: App) -> list[Goal]:
        return self.store.list_goals(app.id)

    def funnels(self, app: App) -> list[Funnel]:
        return self.store.list_funnels(app.id)

    def add_goal(self, app: App, **fields: object) -> Goal:
        """``fields``: those of :func:`make_goal` (name, page, event, props, currency, amount_prop)."""
        existing = self.goals(app)
        if len(existing) >= MAX_GOALS:
            raise GoalError(f"an app has at most {MAX_GOALS} goals")
        goal = make_goal(app.id, created=self.clock.now_ms(), **fields)  # type: ignore[arg-type]
        if any(g.name == goal.name for g in existing):
            raise GoalError(f"this app has a goal named {goal.name!r} already")
        try:
            self.store.create_goal(goal)
        except StoreError as exc:
            raise GoalError(str(exc)) from None
        return goal

    def delete_goal(self, app: App, key: str) -> Goal:
        """Delete a goal by name or id; a goal that is a funnel's step stays (GoalError)."""
        goal = find(self.goals(app), key)
        if not isinstance(goal, Goal):
            raise GoalError(f"no goal {key!r} in this app")
        using = [f.name for f in self.funnels(app) if any(s.goal == goal.name for s in f.steps)]
        if using:
            raise GoalError(
                f"goal {goal.name!r} is a step of the funnel {using[0]!r}; delete the funnel first"
            )
        self.store.delete_goal(app.id, goal.id)
        return goal

    def add_funnel(self, app: App, name: str, steps: Sequence[str]) -> Funnel:
        existing = self.funnels(app)
        if len(existing) >= MAX_FUNNELS:
            raise GoalError(f"an app has at most {MAX_FUNNELS} funnels")
        funnel = make_funnel(app.id, name, steps, self.goals(app), created=self.clock.now_ms())
        if any(f.name == funnel.name for f in existing):
            raise GoalError(f"this app has a funnel named {funnel.name!r} already")
        try:
            self.store.create_funnel(funnel)
        except StoreError as exc:
            raise GoalError(str(exc)) from None
        return funnel

    def funnel(self, app: App, key: str) -> Funnel:
        found = find(self.funnels(app), key)
        if not isinstance(found, Funnel):
            raise GoalError(f"no funnel {key!r} in this app")
        return found

    def delete_funnel(self, app: App, key: str) -> Funnel:
        funnel = self.funnel(app, key)
        self.store.delete_funnel(app.id, funnel.id)
        return funnel
