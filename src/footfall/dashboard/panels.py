"""What the app dashboard shows — headline numbers, the chart and the top-10 panels — and loading it
from the query layer, with the independent queries run side by side."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool

from footfall.dashboard.charts import Chart, bar_class, line_chart
from footfall.dashboard.engine import (
    DIMENSIONS,
    GOAL,
    NONE_VALUE,
    Filter,
    QueryEngine,
    prop_keys,
)
from footfall.dashboard.params import ViewState
from footfall.model import App, Funnel, Goal
from footfall.present.countries import country_label

COUNTRY = "visit:country"  # its rows show the country's flag and name; they filter by the code


@dataclass(frozen=True)
class Tab:
    key: str
    title: str
    dimension: str


@dataclass(frozen=True)
class PanelSpec:
    key: str
    title: str
    tabs: tuple[Tab, ...]
    bots: bool = False  # counts bots only; rows do not filter (bots are off the main numbers)
    second: str | None = "pageviews"  # the metric in the third column
    second_title: str = "Views"
    only: Filter | None = None  # the hits it counts, beside the page's filters
    hide_empty: bool = False  # shown only when it has rows


PANELS = (
    PanelSpec(
        "pages",
        "Pages",
        (
            Tab("top", "Top pages", "event:page"),
            Tab("title", "Titles", "event:title"),
            Tab("entry", "Entry pages", "visit:entry_page"),
            Tab("exit", "Exit pages", "visit:exit_page"),
        ),
    ),
    PanelSpec(
        "sources",
        "Sources",
        (
            Tab("source", "Sources", "visit:source"),
            Tab("referrer", "Referrers", "visit:referrer"),
            Tab("utm_source", "UTM source", "visit:utm_source"),
            Tab("utm_medium", "UTM medium", "visit:utm_medium"),
            Tab("utm_campaign", "UTM campaign", "visit:utm_campaign"),
        ),
    ),
    PanelSpec(
        "locations",
        "Locations",
        (
            Tab("country", "Countries", "visit:country"),
            Tab("region", "Regions", "visit:region"),
            Tab("city", "Cities", "visit:city"),
        ),
    ),
    PanelSpec(
        "devices",
        "Devices",
        (
            Tab("browser", "Browsers", "visit:browser"),
            Tab("os", "Operating systems", "visit:os"),
            Tab("device", "Devices", "visit:device"),
        ),
    ),
    PanelSpec(
        "screens",
        "Languages & screens",
        (
            Tab("language", "Languages", "visit:language"),
            Tab("screen", "Screen sizes", "visit:screen"),
            Tab("ratio", "Pixel ratios", "visit:pixel_ratio"),
        ),
    ),
    PanelSpec(
        "events",
        "Events",
        (Tab("name", "Events", "event:name"),),
        second="events",
        second_title="Count",
    ),
    PanelSpec("bots", "Bots", (Tab("bot", "Bots", "bot:name"),), bots=True, second=None),
    # a site's 404 page sends footfall('404', {props: {path: location.pathname}}), as Plausible's
    PanelSpec(
        "notfound",
        "Not found (404)",
        (Tab("path", "Pages not found", "event:props:path"),),
        second="events",
        second_title="Hits",
        only=Filter("event:name", "==", "404"),
        hide_empty=True,
    ),
)
FUNNEL_PARAM = "funnel"  # ?funnel=<name>: the funnel shown
TAB_PARAMS = {p.key for p in PANELS} | {FUNNEL_PARAM}
HEADLINE = (
    ("visitors", "Unique visitors", False),
    ("visits", "Total visits", False),
    ("pageviews", "Total pageviews", False),
    ("views_per_visit", "Views per visit", False),
    ("bounce_rate", "Bounce rate", True),  # lower is better
    ("visit_duration", "Visit duration", False),
)


@dataclass(frozen=True)
class Row:
    label: str
    visitors: int
    second: int | None  # the panel's second metric (pageviews, events)
    bar: str  # CSS width class
    filter_url: str | None


@dataclass(frozen=True)
class Panel:
    key: str
    title: str
    tabs: list[tuple[str, str, bool]]  # title, url, active
    column: str
    second_title: str | None
    rows: list[Row]


@dataclass(frozen=True)
class Headline:
    key: str
    title: str
    value: Any
    change: Any  # None: no change to show
    good: bool | None  # whether the change is an improvement (None: no change to show)
    new: bool = False  # nothing to compare with (the previous period had no visitors): "new"


@dataclass(frozen=True)
class GoalRow:
    name: str
    visitors: int  # uniques
    events: int  # total completions
    conversion_rate: float
    revenue: str | None  # the total, e.g. "€1,234.50" (revenue goals only)
    bar: str
    filter_url: str


@dataclass(frozen=True)
class GoalsPanel:
    rows: list[GoalRow]
    revenue: bool  # a revenue goal is among the app's goals: the column shows


@dataclass(frozen=True)
class FunnelStepRow:
    label: str
    visitors: int
    dropoff: int
    dropoff_percentage: float
    conversion_rate: float  # of the visitors who entered (step 1)
    bar: str


@dataclass(frozen=True)
class FunnelView:
    name: str
    tabs: list[tuple[str, str, bool]]  # title, url, active
    steps: list[FunnelStepRow]
    all_visitors: int
    entering: int
    entering_percentage: float


@dataclass(frozen=True)
class DashboardData:
    headline: list[Headline]
    chart: Chart
    panels: list[Panel]
    realtime: int
    goals: GoalsPanel | None = None  # None: the app has no goals
    funnel: FunnelView | None = None  # None: the app has no funnels


PROP_TAB = "prop:"  # events panel tabs for custom properties: ?events=prop:plan


CITY_DIMENSIONS = ("visit:region", "visit:city")  # known only from a city database (--geoip-db)


def _tabs(
    spec: PanelSpec, view: ViewState, keys: list[str] | None = None, cities: bool = True
) -> tuple[Tab, ...]:
    """Only what the query layer can answer, and regions and cities only with a city database;
    the events panel adds a tab per property key."""
    tabs = [
        t
        for t in spec.tabs
        if (t.dimension in DIMENSIONS or t.dimension.startswith("event:props:"))
        and (cities or t.dimension not in CITY_DIMENSIONS)
    ]
    if spec.key == "events":
        chosen = view.tab("events", "")
        wanted = list(keys or [])
        if chosen.startswith(PROP_TAB) and chosen[len(PROP_TAB) :] not in wanted:
            wanted.append(chosen[len(PROP_TAB) :])
        tabs += [Tab(PROP_TAB + k, k, "event:props:" + k) for k in wanted if k]
    return tuple(tabs)


def _label(row: dict[str, object], dimension: str) -> str:
    key = DIMENSIONS.get(dimension, "")
    value = row.get(key)
    if value is None:  # a key the engine named differently: the first non-metric entry
        value = next((v for k, v in row.items() if k not in ("visitors", "pageviews")), None)
    return "(none)" if value in (None, "") else str(value)


POINTS = ("bounce_rate", "conversion_rate")  # changes in percentage points


def _headline(totals: dict[str, Any], key: str, title: str, lower_is_better: bool) -> Headline:
    """A number and its change from the previous period. After a period without visitors (a new
    site) every number is "new", or shows no change when it is nothing now either; so is a count
    that was 0 (a first signup), where a percentage would be meaningless."""
    entry = totals.get(key, {})
    value, change = entry.get("value"), entry.get("change")
    empty_before = not totals.get("visitors", {}).get("previous") or (
        key not in POINTS and not entry.get("previous")
    )
    if empty_before:
        return Headline(key, title, value, None, None, new=bool(value))
    good = None if not change else (change < 0) == lower_is_better
    return Headline(key, title, value, change, good)


def _goals_panel(view: ViewState, goals: list[Goal], rows: list[dict[str, Any]]) -> GoalsPanel:
    top = max((int(r.get("visitors") or 0) for r in rows), default=0)
    out = []
    for r in rows:
        revenue = r.get("total_revenue")
        out.append(
            GoalRow(
                name=str(r["goal"]),
                visitors=int(r.get("visitors") or 0),
                events=int(r.get("events") or 0),
                conversion_rate=float(r.get("conversion_rate") or 0),
                revenue=str(revenue["long"]) if isinstance(revenue, dict) else None,
                bar=bar_class(int(r.get("visitors") or 0), top),
                filter_url=view.with_filter(GOAL, str(r["goal"])),
            )
        )
    return GoalsPanel(out, any(g.currency for g in goals))


def _funnel_view(view: ViewState, funnels: list[Funnel], chosen: Funnel, result: Any) -> FunnelView:
    entering = int(result["entering_visitors"])
    steps = [
        FunnelStepRow(
            label=s["label"],
            visitors=s["visitors"],
            dropoff=s["dropoff"],
            dropoff_percentage=s["dropoff_percentage"],
            conversion_rate=s["conversion_rate"],
            bar=bar_class(s["visitors"], entering),
        )
        for s in result["steps"]
    ]
    tabs = [(f.name, view.with_tab(FUNNEL_PARAM, f.name), f.id == chosen.id) for f in funnels]
    return FunnelView(
        name=chosen.name,
        tabs=tabs,
        steps=steps,
        all_visitors=int(result["all_visitors"]),
        entering=entering,
        entering_percentage=float(result["entering_visitors_percentage"]),
    )


async def load(
    engine: QueryEngine, app: App, view: ViewState, *, cities: bool = True
) -> DashboardData:
    """``cities``: a city database is configured, so the locations panel has region and city tabs."""
    spec = view.spec(app)
    goals, funnels = await asyncio.gather(
        run_in_threadpool(engine.store.list_goals, app.id),
        run_in_threadpool(engine.store.list_funnels, app.id),
    )
    wanted = view.tab(FUNNEL_PARAM, "")
    funnel = next((f for f in funnels if f.name == wanted), funnels[0] if funnels else None)
    headline_metrics: tuple[tuple[str, str, bool], ...] = HEADLINE
    if any(f.dimension == GOAL for f in view.filters):  # the goal's numbers: its rate too
        headline_metrics = (*HEADLINE, ("conversion_rate", "Conversion rate", False))
    chosen: list[tuple[PanelSpec, Tab]] = []
    for p in PANELS:
        tabs = _tabs(p, view, cities=cities)
        if tabs:
            key = view.tab(p.key, tabs[0].key)
            chosen.append((p, next((t for t in tabs if t.key == key), tabs[0])))

    def breakdown(p: PanelSpec, t: Tab) -> Callable[[], list[dict[str, object]]]:
        q = view.spec(app, include_bots=True) if p.bots else spec
        if p.only is not None:
            q = dataclasses.replace(q, filters=(*q.filters, p.only))
        metrics = ["visitors", p.second] if p.second else ["visitors"]
        if t.dimension.startswith("event:props:"):  # only the events that have the property
            has_it = Filter(t.dimension, "!=", NONE_VALUE)
            q = dataclasses.replace(q, filters=(*q.filters, has_it))
        if t.dimension == "event:name":  # custom events only: pageviews have their own panel
            return lambda: [
                r
                for r in engine.breakdown(q, t.dimension, metrics, limit=11)
                if r.get("name") != "pageview"
            ][:10]
        return lambda: engine.breakdown(q, t.dimension, metrics, limit=10)

    jobs: list[Callable[[], Any]] = [
        lambda: engine.aggregate(
            spec, [m for m, _, _ in headline_metrics], compare=True, with_previous=True
        ),
        lambda: engine.timeseries(spec, ["visitors", "pageviews"]),
        lambda: engine.realtime_visitors(app),
        lambda: prop_keys(engine, spec),
        lambda: (
            engine.breakdown(
                spec, GOAL, ["visitors", "events", "conversion_rate", "total_revenue"], limit=20
            )
            if goals
            else []
        ),
        lambda: engine.funnel(spec, funnel) if funnel is not None else None,
        *(breakdown(p, t) for p, t in chosen),
    ]
    results = await asyncio.gather(*(run_in_threadpool(job) for job in jobs))
    totals, series, realtime, keys, goal_rows, funnel_result, *tables = results

    headline = [_headline(totals, key, title, low) for key, title, low in headline_metrics]

    panels = []
    for (p, t), rows in zip(chosen, tables, strict=True):
        if p.hide_empty and not rows:
            continue
        top = max((int(r.get("visitors") or 0) for r in rows), default=0)
        panel_rows = []
        for r in rows:
            label = _label(r, t.dimension)
            visitors = int(r.get("visitors") or 0)
            second = r.get(p.second) if p.second else None
            panel_rows.append(
                Row(
                    label=country_label(label) if t.dimension == COUNTRY else label,
                    visitors=visitors,
                    second=int(second) if second is not None else None,
                    bar=bar_class(visitors, top),
                    filter_url=None if p.bots else view.with_filter(t.dimension, label),
                )
            )
        panels.append(
            Panel(
                key=p.key,
                title=p.title,
                tabs=[
                    (x.title, view.with_tab(p.key, x.key), x == t)
                    for x in _tabs(p, view, keys, cities)
                ],
                column=t.title,
                second_title=p.second_title if p.second else None,
                rows=panel_rows,
            )
        )
    return DashboardData(
        headline,
        line_chart(series),
        panels,
        int(realtime),
        goals=_goals_panel(view, goals, goal_rows) if goals else None,
        funnel=_funnel_view(view, funnels, funnel, funnel_result) if funnel else None,
    )
