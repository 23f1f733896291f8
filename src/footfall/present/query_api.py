"""Plausible's Stats API v2: ``POST /api/v2/query``, with the same keys, shapes and error shape.

The body (JSON) is validated by :class:`QueryBody` (msgspec), then field by field against the
allow-lists below; every error is a 400 ``{"error": "#/<field>: <why>"}`` naming the field as a
JSON pointer, as Plausible's are. What is asked maps onto the query engine (footfall.query): no
SQL here. Supported, as Plausible defines them:

- ``metrics``: visitors, visits, pageviews, views_per_visit, bounce_rate, visit_duration, events,
  percentage, conversion_rate (footfall has no goals: its goal is an ``event:*`` filter),
  time_on_page (from the time between a session's hits: footfall keeps no engagement events);
- ``date_range``: day, Nd (the N days before today), Nmo (the N months before this one), month,
  year, all, 24h, or two ISO dates or two date-times with their offsets;
- ``dimensions``: event and visit dimensions (below), custom properties ``event:props:<key>``,
  time, time:hour|day|week|month; more than one at a time;
- ``filters``: is, is_not, contains, contains_not, matches, matches_not (with
  ``{"case_sensitive": false}``), ``and``, ``not`` of one filter, ``or`` of filters on one
  dimension with one operator; others (``or`` across dimensions, has_done, segments, goals) are
  refused with a 400 that says so;
- ``order_by``, ``pagination`` (limit ≤ 10,000, offset), ``include`` (total_rows, time_labels;
  imports accepted, there are none).

Values are Plausible's labels (footfall.present.labels). Queries run in a worker thread.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from footfall.model import App
from footfall.present import labels
from footfall.present.api_access import ApiAccess, ApiError, error_json
from footfall.query import QueryError, QuerySpec
from footfall.query.periods import Window, bucket_keys, local_day, zone
from footfall.query.spec import PROPS_PREFIX, Filter, FilterOp, check_filter, dimension
from footfall.store.base import StoreOutOfMemory

MAX_BODY_BYTES = 64 * 1024
MAX_LIMIT = 10_000
MAX_FILTERS = 20

METRICS = (
    "visitors",
    "visits",
    "pageviews",
    "views_per_visit",
    "bounce_rate",
    "visit_duration",
    "events",
    "percentage",
    "conversion_rate",
    "time_on_page",
)
REFUSED_METRICS = {
    "scroll_depth": "footfall keeps no scroll depth",
    "group_conversion_rate": "footfall has no goals",
    "total_revenue": "footfall keeps no revenue",
    "average_revenue": "footfall keeps no revenue",
    "exit_rate": "not a metric of the public API",
}
SESSION_ONLY = ("bounce_rate", "visit_duration", "views_per_visit")
EVENT_ONLY = ("pageviews", "events")
SESSION_DIMS = ("visit:entry_page", "visit:exit_page")
TIME_DIMS = ("time", "time:hour", "time:day", "time:week", "time:month")

# Plausible's dimension names → footfall's (the v1 names; region and city hold names)
DIMENSIONS: dict[str, str] = {
    name: name
    for name in (
        "event:page",
        "event:hostname",
        "event:name",
        "visit:entry_page",
        "visit:exit_page",
        "visit:source",
        "visit:referrer",
        "visit:utm_medium",
        "visit:utm_source",
        "visit:utm_campaign",
        "visit:utm_content",
        "visit:utm_term",
        "visit:device",
        "visit:browser",
        "visit:browser_version",
        "visit:os",
        "visit:os_version",
        "visit:country",
        "visit:screen",
        # footfall's own, beyond Plausible's
        "event:title",
        "visit:medium",
        "visit:language",
        "visit:pixel_ratio",
        "visit:identity",
    )
} | {"visit:region_name": "visit:region", "visit:city_name": "visit:city"}
REFUSED_DIMENSIONS = {
    "event:goal": "footfall has no goals; filter on event:name or event:page instead",
    "visit:channel": "footfall has no acquisition channels; visit:medium is the nearest",
    "visit:country_name": "country names are not stored; visit:country has the ISO code",
    "visit:region": "region codes are not stored; visit:region_name has the region's name",
    "visit:city": "GeoName ids are not stored; visit:city_name has the city's name",
    "visit:entry_page_hostname": "the entry page's host name is not stored",
    "visit:exit_page_hostname": "the exit page's host name is not stored",
    "segment": "footfall has no segments",
}
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
_TYPES = {
    "str": "String",
    "int": "Integer",
    "float": "Number",
    "bool": "Boolean",
    "array": "Array",
    "object": "Object",
    "null": "Null",
}


class Pagination(msgspec.Struct, forbid_unknown_fields=True):
    limit: int = MAX_LIMIT
    offset: int = 0


class Include(msgspec.Struct, forbid_unknown_fields=True):
    imports: bool = False
    time_labels: bool = False
    total_rows: bool = False


class QueryBody(msgspec.Struct, forbid_unknown_fields=True):
    """Plausible's query object (its public JSON schema's keys and types)."""

    site_id: str
    metrics: list[str]
    date_range: str | list[str]
    dimensions: list[str] = msgspec.field(default_factory=list)
    filters: list[Any] = msgspec.field(default_factory=list)
    order_by: list[Any] | None = None
    include: Include = msgspec.field(default_factory=Include)
    pagination: Pagination = msgspec.field(default_factory=Pagination)


class BadQuery(Exception):
    """A 400: ``pointer`` is the JSON pointer of the field (``#/metrics/1``)."""

    def __init__(self, pointer: str, message: str) -> None:
        super().__init__(f"{pointer}: {message}")
        self.text = f"{pointer}: {message}"


def show(value: object) -> str:
    """A value as Plausible's errors quote it (``"hugs"``, ``["is", "visit:country", ["DE"]]``)."""
    return json.dumps(value, ensure_ascii=False)


def decode(body: bytes) -> QueryBody:
    """The query object, or BadQuery in Plausible's words (JSON pointer, then why)."""
    try:
        return msgspec.json.decode(body, type=QueryBody)
    except msgspec.ValidationError as exc:
        raise _schema_error(str(exc)) from None
    except msgspec.DecodeError as exc:
        raise BadQuery("#", f"the body is not JSON: {exc}") from None


def _schema_error(text: str) -> BadQuery:
    message, _, at = text.partition(" - at `")
    pointer = "#" + re.sub(r"\[(\d+)\]", r"/\1", at.rstrip("`").removeprefix("$")).replace(".", "/")
    if m := re.fullmatch(r"Object missing required field `(.+)`", message):
        return BadQuery(pointer, f"Required property {m.group(1)} was not present.")
    if m := re.fullmatch(r"Object contains unknown field `(.+)`", message):
        return BadQuery(f"{pointer}/{m.group(1)}", "Schema does not allow additional properties.")
    if m := re.fullmatch(r"Expected `([^`]+)`, got `([^`]+)`", message):
        want = " or ".join(_TYPES.get(t.strip(), t) for t in m.group(1).split("|"))
        return BadQuery(
            pointer, f"Type mismatch. Expected {want} but got {_TYPES.get(m.group(2), m.group(2))}."
        )
    return BadQuery(pointer, message)


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


class QueryApi(ApiAccess):
    async def query(self, request: Request) -> Response:
        try:
            key = await run_in_threadpool(self.authorise, request)
            body = await _read(request)
            if body is None:
                return error_json(413, f"the body is over {MAX_BODY_BYTES // 1024} KiB")
            q = decode(body)
            app = self.site_named(q.site_id, key)
            result = await run_in_threadpool(self.answer, app, q)
        except ApiError as exc:
            return error_json(exc.status, exc.message)
        except BadQuery as exc:
            return error_json(400, exc.text)
        except StoreOutOfMemory as exc:
            return error_json(503, str(exc))
        return JSONResponse(result)

    def answer(self, app: App, q: QueryBody) -> dict[str, Any]:
        engine = self.rt.engine
        try:
            plan = self.plan(app, q)
            rows, total = engine.grouped(
                plan.spec,
                plan.asked,
                plan.keys,
                plan.order,
                q.pagination.limit,
                q.pagination.offset,
                q.include.total_rows,
            )
            whole = None
            if "percentage" in plan.metrics:
                whole = engine.aggregate(plan.spec, ["visitors"])["visitors"]["value"]
        except QueryError as exc:
            raise BadQuery(_POINTERS.get(exc.param, f"#/{exc.param}"), exc.message) from None
        first, last = _days(plan.window)
        results = []
        for key_values, values in rows:
            shown = [
                _time_label(k, v, first) if k.startswith("time") else labels.label(k, v)
                for k, v in zip(plan.keys, key_values, strict=True)
            ]
            metrics = []
            for m in plan.metrics:
                if m == "percentage":
                    visitors = values.get("visitors") or 0
                    metrics.append(round(100 * float(visitors) / whole, 1) if whole else None)
                else:
                    metrics.append(values.get(m))
            results.append({"metrics": metrics, "dimensions": shown})
        meta: dict[str, Any] = {}
        if q.include.imports:
            meta |= {"imports_included": False, "imports_skip_reason": "no_imported_data"}
        if q.include.time_labels:
            meta["time_labels"] = time_labels(plan, first, last, self.rt.clock.now_ms())
        if q.include.total_rows:
            meta["total_rows"] = total
        include = {k: v for k, v in msgspec.structs.asdict(q.include).items() if v}
        return {
            "results": results,
            "meta": meta,
            "query": {
                "site_id": q.site_id,
                "metrics": plan.metrics,
                "date_range": _instants(plan.window),
                "filters": q.filters,
                "dimensions": plan.dimensions,
                "order_by": plan.order_by,
                "include": include,
                "pagination": {"offset": q.pagination.offset, "limit": q.pagination.limit},
            },
        }

    # -- validation -------------------------------------------------------------------------
    def plan(self, app: App, q: QueryBody) -> Plan:
        metrics = _metrics(q.metrics)
        period, day = _period(q.date_range, app, self)
        spec = QuerySpec(app=app, period=period, date=day)
        try:
            w = self.rt.engine.window(spec)
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
            raise BadQuery(
                "#/pagination/limit", f"Expected the value to be between 1 and {MAX_LIMIT}."
            )
        if q.pagination.offset < 0:
            raise BadQuery("#/pagination/offset", "Expected the value to be 0 or more.")
        asked = [m for m in metrics if m != "percentage"]
        if "percentage" in metrics and "visitors" not in asked:
            asked.append("visitors")
        return Plan(spec, w, metrics, dimensions, keys, order, order_by, asked)


_POINTERS = {
    "metrics": "#/metrics",
    "dimensions": "#/dimensions",
    "filters": "#/filters",
    "order_by": "#/order_by",
    "date": "#/date_range",
    "period": "#/date_range",
    "limit": "#/pagination/limit",
    "offset": "#/pagination/offset",
}


async def _read(request: Request) -> bytes | None:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            return None
    return body


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
    if "conversion_rate" in metrics and not any(
        dimension(f.dimension).level == "event" for f in filters
    ):
        raise BadQuery(
            "#/metrics",
            "Metric `conversion_rate` can only be queried with event:* filters (footfall's goals:"
            " event:name, event:page or event:props).",
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


def _days(w: Window) -> tuple[date, date]:
    """The local days a window touches."""
    tz = zone(w.tz)
    if w.first_day is not None and w.last_day is not None:
        return w.first_day, w.last_day
    return local_day(w.start_ms, tz), local_day(w.end_ms - 1, tz)


def _instants(w: Window) -> list[str]:
    """The window as Plausible echoes it: first and last second, in the site's time zone."""
    tz = zone(w.tz)
    first = datetime.fromtimestamp(w.start_ms / 1000, tz)
    last = datetime.fromtimestamp((w.end_ms - 1) // 1000, tz)
    return [first.isoformat(timespec="seconds"), last.isoformat(timespec="seconds")]


def _time_label(key: str, value: str, first: date) -> str:
    """A time bucket as Plausible labels it: a week starting before the range by its first day."""
    if key == "time:week" and value < first.isoformat():
        return first.isoformat()
    return value


def time_labels(plan: Plan, first: date, last: date, now_ms: int) -> list[str]:
    """Every bucket of the range (``include.time_labels``), as Plausible lists them."""
    key = next(k for k in plan.keys if k.startswith("time"))
    if key == "time:hour":
        return bucket_keys(plan.window, "hour", now_ms)
    day = first
    out: list[str] = []
    if key == "time:day":
        while day <= last:
            out.append(day.isoformat())
            day += timedelta(days=1)
    elif key == "time:week":
        while day <= last:
            out.append(day.isoformat())
            day += timedelta(days=7 - day.weekday())
    else:
        day = first.replace(day=1)
        while day <= last:
            out.append(day.isoformat())
            day = (day + timedelta(days=32)).replace(day=1)
    return out
