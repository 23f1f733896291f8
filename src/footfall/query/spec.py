"""What a query asks for: metrics, namespaced dimensions, filters and a period, all validated here.

Everything user-supplied is checked against the allow-lists in this module before any SQL is built:
dimension names map to fixed column expressions, metric names to fixed aggregates, and values are
only ever bound as parameters.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import re2

from footfall.globs import glob_to_regex
from footfall.model import App, Goal

# ==, != (with * and ** wildcards), ~, !~ (contains): the filters= text of the v1 API, CLI and
# dashboard; is, is_not (exact), matches, matches_not (a regular expression found in the value):
# the JSON filters of the v2 API
FilterOp = Literal["==", "!=", "~", "!~", "is", "is_not", "matches", "matches_not"]
NEGATED_OPS = frozenset({"!=", "!~", "is_not", "matches_not"})


class QueryError(ValueError):
    """A bad query, with the name of the offending parameter (for a 400 answer)."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param
        self.message = message


@dataclass(frozen=True)
class Filter:
    dimension: str  # e.g. "event:page", "visit:country", "event:props:plan"
    op: FilterOp
    value: str = ""  # "|" separates alternatives; for ==/!= a "*" makes it a wildcard
    values: tuple[str, ...] = ()  # the alternatives as a list (then ``value`` is not read)
    case_sensitive: bool = True  # False: is/is_not/contains compare lower-cased

    @property
    def alternatives(self) -> tuple[str, ...]:
        return self.values or tuple(v for v in self.value.split("|"))


@dataclass(frozen=True)
class QuerySpec:
    app: App
    period: str = "30d"  # day | 7d | 30d | month | 6mo | 12mo | custom | realtime
    date: str | None = None  # YYYY-MM-DD (the period's end day) or "YYYY-MM-DD,YYYY-MM-DD"
    filters: tuple[Filter, ...] = ()
    include_bots: bool = False


METRICS: tuple[str, ...] = (
    "visitors",
    "visits",
    "pageviews",
    "events",
    "views_per_visit",
    "bounce_rate",
    "visit_duration",
    "conversion_rate",
    "time_on_page",
    "total_revenue",
    "average_revenue",
)
# metrics computed per session (attributed to the session's first hit) rather than per hit
SESSION_METRICS = frozenset({"visits", "views_per_visit", "bounce_rate", "visit_duration"})
HIT_METRICS = frozenset({"visitors", "pageviews", "events"})
# revenue of revenue goals: only in a breakdown by event:goal (footfall.query.goals)
REVENUE_METRICS = frozenset({"total_revenue", "average_revenue"})
# computed by a query of their own (footfall.query.engine), never by the rollups
DERIVED_METRICS = frozenset({"conversion_rate", "time_on_page"})

PERIODS = ("day", "7d", "30d", "month", "6mo", "12mo", "custom", "realtime")
INTERVALS = ("minute", "hour", "day", "week", "month")
MAX_LIMIT = 10_000  # rows a breakdown or grouped query answers at most


@dataclass(frozen=True, slots=True)
class Dim:
    """A dimension: its short result key, whether it describes a hit or a visit, and its column."""

    name: str
    short: str
    level: Literal["event", "visit"]
    column: str  # events column (visit dimensions: taken from the session's first hit)


DIMS: tuple[Dim, ...] = (
    Dim("event:page", "page", "event", "path"),
    Dim("event:name", "name", "event", "event"),
    Dim("event:hostname", "hostname", "event", "hostname"),
    Dim("event:title", "title", "event", "title"),  # the dashboard's page titles tab
    Dim("visit:entry_page", "entry_page", "visit", "path"),
    Dim("visit:exit_page", "exit_page", "visit", "path"),
    Dim("visit:source", "source", "visit", "source"),
    Dim("visit:referrer", "referrer", "visit", "referrer"),
    Dim("visit:medium", "medium", "visit", "medium"),
    Dim("visit:utm_source", "utm_source", "visit", "utm_source"),
    Dim("visit:utm_medium", "utm_medium", "visit", "utm_medium"),
    Dim("visit:utm_campaign", "utm_campaign", "visit", "utm_campaign"),
    Dim("visit:utm_term", "utm_term", "visit", "utm_term"),
    Dim("visit:utm_content", "utm_content", "visit", "utm_content"),
    Dim("visit:browser", "browser", "visit", "browser"),
    Dim("visit:browser_version", "browser_version", "visit", "browser_version"),
    Dim("visit:os", "os", "visit", "os"),
    Dim("visit:os_version", "os_version", "visit", "os_version"),
    Dim("visit:device", "device", "visit", "device"),
    Dim("visit:country", "country", "visit", "country"),
    Dim("visit:region", "region", "visit", "region"),
    Dim("visit:city", "city", "visit", "city"),
    Dim("visit:language", "language", "visit", "language"),
    Dim("visit:screen", "screen", "visit", "screen"),
    Dim("visit:pixel_ratio", "pixel_ratio", "visit", "pixel_ratio"),
    Dim("visit:identity", "identity", "visit", "identity"),
    Dim("bot:name", "bot", "event", "bot"),
    # the app's goals a hit completes (footfall.query.goals): no column of its own
    Dim("event:goal", "goal", "event", "goal"),
)
GOAL = "event:goal"
DIMS_BY_NAME: dict[str, Dim] = {d.name: d for d in DIMS}
DIMENSIONS: dict[str, str] = {d.name: d.short for d in DIMS}
PROPS_PREFIX = "event:props:"
NONE_VALUE = "(none)"  # how an empty value is shown, and how a filter asks for it
_PROP_KEY = re.compile(r"[^\x00-\x1f]{1,64}")


def dimension(name: str, param: str = "property") -> Dim:
    """The allow-listed dimension for ``name``; custom properties become ``props[key]`` lookups."""
    if name.startswith(PROPS_PREFIX):
        key = name[len(PROPS_PREFIX) :]
        if not _PROP_KEY.fullmatch(key):
            raise QueryError(param, f"bad custom property name in {name!r}")
        return Dim(name, key, "event", "props")
    dim = DIMS_BY_NAME.get(name)
    if dim is None:
        raise QueryError(
            param,
            f"unknown dimension {name!r}; use one of {', '.join(DIMENSIONS)} or event:props:<key>",
        )
    return dim


def prop_key(dim: Dim) -> str | None:
    return dim.name[len(PROPS_PREFIX) :] if dim.column == "props" else None


def check_metrics(metrics: object, param: str = "metrics") -> tuple[str, ...]:
    if isinstance(metrics, str):
        metrics = [m.strip() for m in metrics.split(",")]
    if not isinstance(metrics, list | tuple) or not metrics:
        raise QueryError(param, "at least one metric is needed")
    out: list[str] = []
    for m in metrics:
        if m not in METRICS:
            raise QueryError(param, f"unknown metric {m!r}; use one of {', '.join(METRICS)}")
        if m not in out:
            out.append(m)
    return tuple(out)


_FILTER = re.compile(r"^\s*([a-z_]+:[^=!~\s]+?)\s*(==|!=|!~|~)\s*(.*?)\s*$", re.S)


def parse_filters(text: str | None, param: str = "filters") -> tuple[Filter, ...]:
    """``event:page==/blog/**;visit:country==DE|FR`` → filters (AND-ed). Raises QueryError."""
    if not text or not text.strip():
        return ()
    out: list[Filter] = []
    for part in text.split(";"):
        if not part.strip():
            continue
        m = _FILTER.match(part)
        if not m:
            raise QueryError(param, f"cannot read filter {part.strip()!r}; write dimension==value")
        name, op, value = m.group(1), m.group(2), m.group(3)
        dimension(name, param)
        if value == "" or "" in value.split("|"):  # "a||b" or "a|": "contains ''" matches all
            raise QueryError(param, f"filter {part.strip()!r} has an empty value")
        out.append(Filter(name, op, value))  # type: ignore[arg-type]
    if len(out) > 20:
        raise QueryError(param, "at most 20 filters")
    return tuple(out)


wildcard_regex = glob_to_regex  # the same globs as excluded paths

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False


@functools.lru_cache(maxsize=256)
def _compiled(text: str) -> Any:
    return re2.compile(text, options=_RE2_OPTIONS)


def pattern(text: str, param: str = "filters") -> Any:
    """A regular expression of a ``matches`` filter, compiled by RE2 (the stores' syntax), or
    QueryError naming ``param``."""
    if len(text) > 1000:
        raise QueryError(param, "a regular expression of at most 1000 characters")
    try:
        return _compiled(text)
    except re2.error as exc:
        why = exc.args[0] if exc.args else ""
        why = why.decode("utf-8", "replace") if isinstance(why, bytes) else str(why)
        raise QueryError(param, f"bad regular expression {text!r}: {why}") from None


def check_filter(f: Filter, param: str = "filters") -> None:
    """The filter's dimension is allow-listed and its regular expressions compile."""
    dimension(f.dimension, param)
    if f.op in ("matches", "matches_not"):
        for alt in f.alternatives:
            pattern(alt, param)


def matching_goals(f: Filter, goals: Sequence[Goal]) -> list[Goal]:
    """The goals an ``event:goal`` filter names (``==``: exact names; ``~``: names containing
    one of the values), in the app's order."""
    if f.op == "~":
        return [g for g in goals if any(w in g.name for w in f.alternatives)]
    return [g for g in goals if g.name in f.alternatives]
