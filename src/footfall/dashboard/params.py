"""The dashboard's view state, which lives entirely in the URL: period, date, filters and tabs.

``?period=7d&f=visit:country==DE&f=event:page==/blog&pages=entry`` — every link on the page is this
state with one thing changed, so a view can be bookmarked, shared and used without JavaScript.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from urllib.parse import urlencode

from footfall.dashboard.engine import Filter, QueryError, QuerySpec, parse_filters
from footfall.model import App

PERIODS = (
    ("day", "Today"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
    ("month", "This month"),
    ("6mo", "Last 6 months"),
    ("12mo", "Last 12 months"),
    ("custom", "Custom"),
)
PERIOD_NAMES = dict(PERIODS)
# keyboard shortcuts of the period links (dash.js), Plausible's letters
PERIOD_KEYS = {"day": "d", "7d": "w", "30d": "t", "month": "m", "6mo": "s", "12mo": "y"}
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_FILTER = re.compile(r"([a-z_]+:[^=!~\s]+?)(==|!=|!~|~)(.+)", re.S)
MAX_FILTERS = 10

# what a dimension is called in a filter chip
LABELS = {
    "event:page": "Page",
    "event:title": "Title",
    "visit:entry_page": "Entry page",
    "visit:exit_page": "Exit page",
    "visit:source": "Source",
    "visit:referrer": "Referrer",
    "visit:utm_source": "UTM source",
    "visit:utm_medium": "UTM medium",
    "visit:utm_campaign": "UTM campaign",
    "visit:country": "Country",
    "visit:region": "Region",
    "visit:city": "City",
    "visit:browser": "Browser",
    "visit:os": "OS",
    "visit:device": "Device",
    "visit:language": "Language",
    "visit:screen": "Screen size",
    "visit:pixel_ratio": "Pixel ratio",
    "event:name": "Event",
    "event:goal": "Goal",
    "event:hostname": "Hostname",
}
OPS = {"==": "is", "!=": "is not", "~": "contains", "!~": "does not contain"}


def parse_filter(text: str) -> Filter:
    """One ``f`` parameter: one filter, whose value may hold ";" (a path like /a;b is one value).
    Anything else a filter can mean is the query layer's syntax (parse_filters checks the name)."""
    m = _FILTER.fullmatch(text.strip())
    if not m:
        raise QueryError("filters", f"cannot read filter {text[:100]!r}; write dimension==value")
    name, op, value = m.groups()
    parse_filters(f"{name}{op}x")  # the dimension and operator, by the query layer's rules
    return Filter(name, op, value)  # type: ignore[arg-type]


def _shown(f: Filter) -> str:
    """A filter's value as a chip shows it: countries by flag and name (``DE|FR``: each)."""
    if f.dimension == "visit:country" and f.op in ("==", "!="):
        from footfall.present.countries import country_label

        return " or ".join(country_label(v) for v in f.value.split("|"))
    return f.value


@dataclass(frozen=True)
class Chip:
    label: str
    op: str
    value: str
    remove_url: str


@dataclass(frozen=True)
class ViewState:
    period: str = "30d"
    date: str | None = None  # period end day, or "from,to" for custom
    filters: tuple[Filter, ...] = ()
    tabs: tuple[tuple[str, str], ...] = ()  # (panel, tab) chosen in the URL

    @classmethod
    def from_query(cls, params: dict[str, list[str]], tab_names: set[str]) -> ViewState:
        period = (params.get("period") or ["30d"])[0]
        if period not in PERIOD_NAMES:
            raise QueryError("period", f"unknown period {period!r}")
        date: str | None = None
        if period == "custom":
            start = (params.get("from") or [""])[0]
            end = (params.get("to") or [""])[0]
            if not (_DAY.fullmatch(start) and _DAY.fullmatch(end)):
                raise QueryError("date", "a custom period needs from and to dates (YYYY-MM-DD)")
            if start > end:
                start, end = end, start
            date = f"{start},{end}"
        elif params.get("date"):
            date = params["date"][0]
            if not _DAY.fullmatch(date):
                raise QueryError("date", f"not a date (YYYY-MM-DD): {date!r}")
        filters = [parse_filter(text) for text in params.get("f", [])[:MAX_FILTERS]]
        tabs = tuple((k, v[0]) for k, v in sorted(params.items()) if k in tab_names and v)
        return cls(period, date, tuple(filters), tabs)

    def spec(self, app: App, *, include_bots: bool = False) -> QuerySpec:
        return QuerySpec(
            app=app,
            period=self.period,
            date=self.date,
            filters=self.filters,
            include_bots=include_bots,
        )

    def tab(self, panel: str, default: str) -> str:
        return dict(self.tabs).get(panel, default)

    # -- links -------------------------------------------------------------------------------
    def query(self) -> str:
        pairs: list[tuple[str, str]] = [("period", self.period)]
        if self.period == "custom" and self.date:
            start, _, end = self.date.partition(",")
            pairs += [("from", start), ("to", end)]
        elif self.date:
            pairs.append(("date", self.date))
        pairs += [("f", f"{f.dimension}{f.op}{f.value}") for f in self.filters]
        pairs += list(self.tabs)
        return "?" + urlencode(pairs)

    def with_filter(self, dimension: str, value: str) -> str:
        kept = tuple(f for f in self.filters if f.dimension != dimension)
        return replace(self, filters=(*kept, Filter(dimension, "==", value))).query()

    def without_filter(self, index: int) -> str:
        kept = self.filters[:index] + self.filters[index + 1 :]
        return replace(self, filters=kept).query()

    def with_period(self, period: str) -> str:
        return replace(self, period=period, date=None).query()

    def with_tab(self, panel: str, tab: str) -> str:
        tabs = dict(self.tabs) | {panel: tab}
        return replace(self, tabs=tuple(sorted(tabs.items()))).query()

    def chips(self) -> list[Chip]:
        return [
            Chip(
                label=LABELS.get(f.dimension, f.dimension.rsplit(":", 1)[-1]),
                op=OPS.get(f.op, f.op),
                value=_shown(f),
                remove_url=self.without_filter(i),
            )
            for i, f in enumerate(self.filters)
        ]

    @property
    def period_label(self) -> str:
        if self.period == "custom" and self.date:
            return self.date.replace(",", " – ")
        return PERIOD_NAMES[self.period]

    @property
    def custom_range(self) -> tuple[str, str]:
        if self.period == "custom" and self.date:
            start, _, end = self.date.partition(",")
            return start, end
        return "", ""
