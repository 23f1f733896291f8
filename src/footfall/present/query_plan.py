"""A Stats API v2 query checked field by field into a :class:`Plan`, as Plausible checks it.

``metrics``, ``date_range`` (as QuerySpec's period and date), ``filters`` (Plausible's filter
trees as footfall's filters, all of which must hold; read before the dimensions, as Plausible
does), ``dimensions`` (``time`` resolved to its bucket), Plausible's rules for which metrics go
with which dimensions and filters, ``order_by``, ``include`` and ``pagination``. The first field
that is wrong is a BadQuery (footfall.present.query_body).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from footfall.model import App
from footfall.present import labels
from footfall.present.api_access import ApiAccess
from footfall.present.query_body import (
    DIMENSIONS,
    EVENT_ONLY,
    MAX_FILTERS,
    MAX_LIMIT,
    METRICS,
    REFUSED_DIMENSIONS,
    REFUSED_METRICS,
    SESSION_DIMS,
    SESSION_ONLY,
    TIME_DIMS,
    BadQuery,
    QueryBody,
    show,
)
from footfall.query import QueryError, QuerySpec
from footfall.query.periods import Window, local_day, zone
from footfall.query.spec import PROPS_PREFIX, Filter, FilterOp, check_filter, dimension

_LEAF_OPS: dict[str, FilterOp] = {
    "is": "is",
    "is_not": "is_not",
    "contains": "~",
    "contains_not": "!~",
    "matches": "matches",
    "matches_not": "matches_not",
}
_NEGATE: dict[FilterOp, FilterOp] = {
    "is": "is_not",
    "is_not": "is",
    "~": "!~",
    "!~": "~",
    "matches": "matches_not",
    "matches_not": "matches",
}
_CASE_OPS = ("is", "is_not", "contains", "contains_not")
_SHORTHAND = re.compile(r"([1-9]\d{0,3})(d|mo)")


@dataclass
class Plan:
    """A validated query: what the engine is asked, and what the answer echoes."""

    spec: QuerySpec
    window: Window
    metrics: list[str]
    dimensions: list[str]  # as answered (time resolved)
    keys: list[str]  # the engine's names
    order: list[tuple[str, bool]]  # the engine's names, descending?
    order_by: list[list[str]]  # as answered
    asked: list[str] = field(default_factory=list)  # metrics the engine computes


def plan_query(api: ApiAccess, app: App, q: QueryBody) -> Plan:
    """The query checked field by field (BadQuery for the first field that is wrong)."""
    metrics = _metrics(q.metrics)
    period, day = _period(q.date_range, app, api)
    spec = QuerySpec(app=app, period=period, date=day)
    try:
        w = api.rt.engine.window(spec)
    except QueryError as exc:
        raise BadQuery(
            "#/date_range", f"Invalid date range {show(q.date_range)}: {exc.message}"
        ) from None
    filters = _filters(q.filters)  # before the dimensions, as Plausible reads them
    dimensions, keys = _dimensions(q.dimensions, w)
    spec = QuerySpec(app=spec.app, period=spec.period, date=spec.date, filters=filters)
    _conflicts(metrics, dimensions, filters)
    order_by, order = _order(q.order_by, metrics, dimensions, keys)
    if q.include.time_labels and not any(d.startswith("time") for d in dimensions):
        raise BadQuery(
            "#/include/time_labels", "Invalid include.time_labels: requires a time dimension."
        )
    if not 1 <= q.pagination.limit <= MAX_LIMIT:
        raise BadQuery("#/pagination/limit", f"Expected the value to be between 1 and {MAX_LIMIT}.")
    if q.pagination.offset < 0:
        raise BadQuery("#/pagination/offset", "Expected the value to be 0 or more.")
    asked = [m for m in metrics if m != "percentage"]
    if "percentage" in metrics and "visitors" not in asked:
        asked.append("visitors")
    return Plan(spec, w, metrics, dimensions, keys, order, order_by, asked)


def _metrics(asked: list[str]) -> list[str]:
    if not asked:
        raise BadQuery("#/metrics", "Expected a minimum of 1 items but got 0.")
    if len(set(asked)) != len(asked):
        raise BadQuery("#/metrics", "Expected items to be unique but they were not.")
    for i, m in enumerate(asked):
        if m in REFUSED_METRICS:
            raise BadQuery(
                f"#/metrics/{i}", f"Metric {show(m)} is not supported: {REFUSED_METRICS[m]}"
            )
        if m not in METRICS:
            raise BadQuery(f"#/metrics/{i}", f"Invalid metric {show(m)}")
    return list(asked)


def _period(date_range: str | list[str], app: App, api: ApiAccess) -> tuple[str, str | None]:
    """QuerySpec's period and date for a Plausible date range."""
    now = api.rt.clock.now_ms()
    today = local_day(now, zone(app.timezone or "UTC"))
    bad = BadQuery("#/date_range", f"Invalid date range {show(date_range)}")
    if isinstance(date_range, list):
        if len(date_range) != 2:
            raise bad
        a, b = (s.strip() for s in date_range)
        if ("T" in a) != ("T" in b):
            raise bad
        return "custom", f"{a},{b}"
    if date_range == "day":
        return "day", None
    if date_range == "month":
        return "month", None
    if date_range == "24h":
        return "24h", None
    if date_range == "year":
        return "custom", f"{today.year}-01-01,{today.year}-12-31"
    if date_range == "all":
        first = api.rt.engine.first_day(app) or today
        return "custom", f"{min(first, today)},{today}"
    m = _SHORTHAND.fullmatch(date_range)
    if m is None:
        raise bad
    n = int(m.group(1))
    yesterday = today - timedelta(days=1)
    if m.group(2) == "d":  # the n days before today
        if n > 5000:
            raise bad
        return f"{n}d", yesterday.isoformat()
    if n > 100:  # the n months before this one
        raise bad
    last = today.replace(day=1) - timedelta(days=1)
    months = today.year * 12 + today.month - 1 - n
    first = date(months // 12, months % 12 + 1, 1)
    return "custom", f"{first},{last}"


def _dimensions(asked: list[str], w: Window) -> tuple[list[str], list[str]]:
    """(the dimensions as answered, the engine's keys)."""
    if len(set(asked)) != len(asked):
        raise BadQuery("#/dimensions", "Expected items to be unique but they were not.")
    if "event:goal" in asked and len(asked) > 1:  # goals are answered from raw events, alone
        raise BadQuery("#/dimensions", "event:goal is answered as the only dimension")
    shown: list[str] = []
    keys: list[str] = []
    for i, d in enumerate(asked):
        if d in TIME_DIMS:
            if any(k.startswith("time") for k in keys):
                raise BadQuery(f"#/dimensions/{i}", "Only one time dimension is allowed.")
            d = _resolve_time(w) if d == "time" else d
            shown.append(d)
            keys.append(d)
            continue
        keys.append(_dimension(d, f"#/dimensions/{i}", "Invalid dimension"))
        shown.append(d)
    return shown, keys


def _dimension(name: object, pointer: str, invalid: str) -> str:
    if not isinstance(name, str):
        raise BadQuery(pointer, f"{invalid} {show(name)}")
    if name in REFUSED_DIMENSIONS:
        raise BadQuery(pointer, f"{show(name)} is not supported: {REFUSED_DIMENSIONS[name]}")
    if name.startswith(PROPS_PREFIX) and len(name) > len(PROPS_PREFIX):
        try:
            dimension(name, "dimensions")
        except QueryError as exc:
            raise BadQuery(pointer, exc.message) from None
        return name
    found = DIMENSIONS.get(name)
    if found is None:
        raise BadQuery(pointer, f"{invalid} {show(name)}")
    return found


def _resolve_time(w: Window) -> str:
    """Plausible's bucket for ``time``: hours up to two days, days up to 40, weeks up to 52."""
    span = w.end_ms - w.start_ms - 1000  # from the first second to the last
    if span < 49 * 3_600_000:
        return "time:hour"
    if span <= 40 * 86_400_000 + 86_400_000 - 1000:
        return "time:day"
    if span <= 52 * 7 * 86_400_000 + 7 * 86_400_000 - 1000:
        return "time:week"
    return "time:month"


def _filters(tree: list[Any]) -> tuple[Filter, ...]:
    out: list[Filter] = []
    for i, node in enumerate(tree):
        out += _filter_node(node, f"#/filters/{i}")
    if len(out) > MAX_FILTERS:
        raise BadQuery("#/filters", f"At most {MAX_FILTERS} filters.")
    return tuple(out)


def _filter_node(node: Any, pointer: str) -> list[Filter]:
    """A filter tree as footfall's filters (all of which must hold)."""
    if not isinstance(node, list) or len(node) < 2 or not isinstance(node[0], str):
        raise BadQuery(pointer, f"Invalid filter {show(node)}")
    op = node[0]
    if op == "and":
        if len(node) != 2 or not isinstance(node[1], list) or not node[1]:
            raise BadQuery(pointer, f"Invalid filter {show(node)}")
        return [
            f for i, child in enumerate(node[1]) for f in _filter_node(child, f"{pointer}/1/{i}")
        ]
    if op == "or":
        if len(node) != 2 or not isinstance(node[1], list) or not node[1]:
            raise BadQuery(pointer, f"Invalid filter {show(node)}")
        parts = [_filter_node(child, f"{pointer}/1/{i}") for i, child in enumerate(node[1])]
        leaves = [p[0] for p in parts if len(p) == 1]
        first = leaves[0] if len(leaves) == len(parts) else None
        if (
            first is None
            or first.op not in ("is", "~", "matches")
            or any(
                (f.dimension, f.op, f.case_sensitive)
                != (first.dimension, first.op, first.case_sensitive)
                for f in leaves
            )
        ):
            raise BadQuery(
                pointer,
                f"Unsupported filter {show(node)}: footfall answers `or` only between filters"
                " of one dimension with one of is, contains or matches",
            )
        values = tuple(v for f in leaves for v in f.alternatives)
        return [
            Filter(first.dimension, first.op, values=values, case_sensitive=first.case_sensitive)
        ]
    if op == "not":
        if len(node) != 2:
            raise BadQuery(pointer, f"Invalid filter {show(node)}")
        inner = _filter_node(node[1], f"{pointer}/1")
        if len(inner) != 1:
            raise BadQuery(pointer, f"Unsupported filter {show(node)}: `not` of one filter only")
        f = inner[0]
        return [
            Filter(
                f.dimension, _NEGATE[f.op], values=f.alternatives, case_sensitive=f.case_sensitive
            )
        ]
    if op in ("has_done", "has_not_done"):
        raise BadQuery(
            pointer, f"Unsupported filter {show(node)}: behavioral filters are not supported"
        )
    if op not in _LEAF_OPS:
        raise BadQuery(pointer, f"Invalid filter {show(node)}")
    return [_leaf(node, pointer)]


def _leaf(node: list[Any], pointer: str) -> Filter:
    op = node[0]
    if len(node) not in (3, 4) or node[1] in TIME_DIMS:
        raise BadQuery(pointer, f"Invalid filter {show(node)}")
    name = _dimension(node[1], pointer, "Invalid filter dimension")
    clauses = node[2]
    if not isinstance(clauses, list) or not all(isinstance(c, str) for c in clauses):
        raise BadQuery(pointer, f"Invalid filter {show(node)}")
    if not clauses:
        raise BadQuery(pointer, f"Invalid filter {show(node)}: the list of values is empty")
    case_sensitive = True
    if len(node) == 4:
        modifiers = node[3]
        if (
            op not in _CASE_OPS
            or not isinstance(modifiers, dict)
            or set(modifiers) - {"case_sensitive"}
            or not isinstance(modifiers.get("case_sensitive", True), bool)
        ):
            raise BadQuery(pointer, f"Invalid filter {show(node)}")
        case_sensitive = modifiers.get("case_sensitive", True)
    if name == "visit:country" and op in ("is", "is_not") and any(len(c) != 2 for c in clauses):
        raise BadQuery(
            pointer,
            "Invalid visit:country filter, visit:country needs to be a valid 2-letter country code.",
        )
    f = labels.stored_filter(
        Filter(name, _LEAF_OPS[op], values=tuple(clauses), case_sensitive=case_sensitive)
    )
    try:
        check_filter(f)
    except QueryError as exc:
        raise BadQuery(pointer, exc.message) from None
    return f


def _conflicts(metrics: list[str], dimensions: list[str], filters: tuple[Filter, ...]) -> None:
    """Plausible's rules for which metrics go with which dimensions and filters."""
    event_dims = [d for d in dimensions if d.startswith("event:")]
    session_dims = [d for d in dimensions if d in SESSION_DIMS]
    session_m = [m for m in metrics if m in SESSION_ONLY]
    event_m = [m for m in metrics if m in EVENT_ONLY]
    quoted = lambda names: ", ".join(f"`{n}`" for n in names)  # noqa: E731
    if event_dims != ["event:page"] and session_m and event_dims:
        raise BadQuery(
            "#/metrics",
            f"Session metric(s) {quoted(session_m)} cannot be queried along with event"
            f" dimension(s) {quoted(event_dims)}",
        )
    if event_dims != ["event:page"] and event_m and session_dims:
        raise BadQuery(
            "#/metrics",
            f"Event metric(s) {quoted(event_m)} cannot be queried along with session"
            f" dimension(s) {quoted(session_dims)}",
        )
    page_filter = any(f.dimension == "event:page" for f in filters)
    if "views_per_visit" in metrics:
        if page_filter:
            raise BadQuery(
                "#/metrics",
                "Metric `views_per_visit` cannot be queried with a filter on `event:page`.",
            )
        if any(not d.startswith("time") for d in dimensions):
            raise BadQuery(
                "#/metrics", "Metric `views_per_visit` cannot be queried with `dimensions`."
            )
    if "time_on_page" in metrics and "event:page" not in dimensions and not page_filter:
        raise BadQuery(
            "#/metrics",
            "Metric `time_on_page` can only be queried with event:page filters or dimensions.",
        )
    if "percentage" in metrics and not dimensions:
        raise BadQuery("#/metrics", "Metric `percentage` can only be queried with `dimensions`.")
    if (
        "conversion_rate" in metrics
        and "event:goal" not in dimensions
        and not any(dimension(f.dimension).level == "event" for f in filters)
    ):
        raise BadQuery(
            "#/metrics",
            "Metric `conversion_rate` can only be queried with an event:goal dimension or event:* filters"
            " (event:goal, event:name, event:page or event:props).",
        )


def _order(
    asked: list[Any] | None, metrics: list[str], dimensions: list[str], keys: list[str]
) -> tuple[list[list[str]], list[tuple[str, bool]]]:
    """(order_by as answered, the engine's order): by default the time dimension ascending,
    then the first metric descending."""
    time_dim = next((d for d in dimensions if d.startswith("time")), None)
    if asked is None:
        entries = ([[time_dim, "asc"]] if time_dim else []) + [[metrics[0], "desc"]]
    else:
        entries = []
        for i, entry in enumerate(asked):
            if (
                not isinstance(entry, list)
                or len(entry) != 2
                or not all(isinstance(e, str) for e in entry)
                or entry[1] not in ("asc", "desc")
            ):
                raise BadQuery(f"#/order_by/{i}", f"Invalid value in order_by {show(entry)}")
            name = time_dim if entry[0] == "time" and time_dim else entry[0]
            if name not in metrics and name not in dimensions:
                raise BadQuery(
                    f"#/order_by/{i}",
                    f"Invalid order_by entry {show(entry)}. Entry is not a queried metric or"
                    " dimension.",
                )
            entries.append([name, entry[1]])
    order = []
    for name, direction in entries:
        engine_name = keys[dimensions.index(name)] if name in dimensions else name
        if engine_name == "percentage":  # one denominator for every row
            engine_name = "visitors"
        order.append((engine_name, direction == "desc"))
    return entries, order
