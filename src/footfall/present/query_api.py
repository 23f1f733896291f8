"""Plausible's Stats API v2: ``POST /api/v2/query``, with the same keys, shapes and error shape.

The body (JSON) is decoded as ``QueryBody`` (msgspec; footfall.present.query_body), then checked
field by field against its allow-lists into a ``Plan`` (footfall.present.query_plan); every error
is a 400 ``{"error": "#/<field>: <why>"}`` naming the field as a JSON pointer, as Plausible's are.
Here the plan is answered and the answer shaped: what is asked maps onto the query engine
(footfall.query.QueryEngine.grouped): no SQL here. Supported, as Plausible defines them:

- ``metrics``: visitors, visits, pageviews, views_per_visit, bounce_rate, visit_duration, events,
  percentage, conversion_rate (by ``event:goal``, or under an ``event:goal``/``event:*`` filter),
  time_on_page (from the time between a session's hits: footfall keeps no engagement events);
- ``date_range``: day, Nd (the N days before today), Nmo (the N months before this one), month,
  year, all, 24h, or two ISO dates or two date-times with their offsets;
- ``dimensions``: ``event:goal`` alone (the app's goals), or event and visit dimensions
  (footfall.present.query_body), custom properties ``event:props:<key>``, time,
  time:hour|day|week|month; more than one at a time;
- ``filters``: is, is_not, contains, contains_not, matches, matches_not (with
  ``{"case_sensitive": false}``), ``and``, ``not`` of one filter, ``or`` of filters on one
  dimension with one operator; others (``or`` across dimensions, has_done, segments) are
  refused with a 400 that says so;
- ``order_by``, ``pagination`` (limit ≤ 10,000, offset), ``include`` (total_rows, time_labels;
  imports accepted, there are none).

Values are Plausible's labels (footfall.present.labels). Queries run in a worker thread.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from footfall.model import App
from footfall.present import labels
from footfall.present.api_access import ApiAccess, ApiError, error_json
from footfall.present.query_body import BadQuery, QueryBody, decode
from footfall.present.query_plan import Plan, plan_query
from footfall.query import QueryError
from footfall.query.periods import Window, bucket_keys, local_day, zone
from footfall.store.base import StoreOutOfMemory

MAX_BODY_BYTES = 64 * 1024


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
            plan = plan_query(self, app, q)
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


_POINTERS = {  # the engine's parameters as the fields of the body
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
