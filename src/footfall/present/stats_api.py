"""The Stats API, compatible with Plausible's Stats API v1 (same paths, parameters and shapes).

    GET /api/v1/stats/realtime/visitors?site_id=…
    GET /api/v1/stats/aggregate?site_id=…&period=30d&metrics=visitors,pageviews&compare=previous_period
    GET /api/v1/stats/timeseries?site_id=…&period=6mo&interval=month&metrics=visitors
    GET /api/v1/stats/breakdown?site_id=…&property=event:page&limit=10&page=1
    GET /api/v1/export?site_id=…&format=ndjson|csv|parquet&from=YYYY-MM-DD&to=YYYY-MM-DD

    POST /api/v2/query  (Plausible's Stats API v2: footfall.present.query_api)

``Authorization: Bearer <key>`` (``footfall keys create``). ``site_id`` is the app's UUID or its
domain. Bad parameters answer 400 ``{"error": "<param>: …"}``; a missing or wrong key 401.
Values are Plausible's labels (``Direct / None``, ``Desktop``, ``Mac``: footfall.present.labels),
in answers and in filters. Queries run in a worker thread, so collection never waits on them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from footfall.model import App
from footfall.present import labels
from footfall.present.api_access import ApiAccess, ApiError, error_json
from footfall.present.export_api import ExportApi
from footfall.present.openapi import OPENAPI
from footfall.present.query_api import QueryApi
from footfall.query import QueryError, QuerySpec, parse_filters
from footfall.query.spec import dimension
from footfall.runtime import Runtime
from footfall.store.base import StoreOutOfMemory

MAX_BREAKDOWN_LIMIT = 1000


class StatsApi(ApiAccess):
    def spec(self, request: Request, app: App) -> QuerySpec:
        p = request.query_params
        return QuerySpec(
            app=app,
            period=p.get("period", "30d"),
            date=p.get("date") or None,
            filters=tuple(labels.stored_filter(f) for f in parse_filters(p.get("filters"))),
            include_bots=_flag(p.get("with_bots"), "with_bots"),
        )

    @staticmethod
    def metrics(request: Request) -> list[str]:
        return [m.strip() for m in request.query_params.get("metrics", "visitors").split(",")]

    async def run(self, request: Request, answer: Callable[[App], Any]) -> Response:
        try:
            key = await run_in_threadpool(self.authorise, request)
            app = self.site(request, key)
            result = await run_in_threadpool(answer, app)
        except ApiError as exc:
            return error_json(exc.status, exc.message)
        except QueryError as exc:
            return error_json(400, f"{exc.param}: {exc.message}")
        except StoreOutOfMemory as exc:  # the question is fine; the server cannot afford it now
            return error_json(503, str(exc))
        if isinstance(result, Response):
            return result
        return JSONResponse(result)

    # -- endpoints --------------------------------------------------------------------------
    async def realtime(self, request: Request) -> Response:
        return await self.run(request, lambda app: self.rt.engine.realtime_visitors(app))

    async def aggregate(self, request: Request) -> Response:
        compare = request.query_params.get("compare")
        if compare not in (None, "", "previous_period"):
            return error_json(400, "compare: only compare=previous_period is supported")

        def answer(app: App) -> Any:
            q = self.spec(request, app)
            results = self.rt.engine.aggregate(q, self.metrics(request), bool(compare))
            return {"results": results}

        return await self.run(request, answer)

    async def timeseries(self, request: Request) -> Response:
        def answer(app: App) -> Any:
            q = self.spec(request, app)
            interval = request.query_params.get("interval") or None
            return {"results": self.rt.engine.timeseries(q, self.metrics(request), interval)}

        return await self.run(request, answer)

    async def breakdown(self, request: Request) -> Response:
        def answer(app: App) -> Any:
            p = request.query_params
            prop = p.get("property")
            if not prop:
                raise QueryError("property", "required, e.g. property=event:page")
            short = dimension(prop, "property").short
            limit = _int(p.get("limit"), "limit", 100)
            if not 1 <= limit <= MAX_BREAKDOWN_LIMIT:
                raise QueryError("limit", f"between 1 and {MAX_BREAKDOWN_LIMIT}")
            page = _int(p.get("page"), "page", 1)
            q = self.spec(request, app)
            rows = self.rt.engine.breakdown(q, prop, self.metrics(request), limit, page)
            for row in rows:
                row[short] = labels.label(prop, str(row[short]))
            return {"results": rows}

        return await self.run(request, answer)

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(OPENAPI)


def _int(value: str | None, param: str, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise QueryError(param, f"{value!r} is not a whole number") from None


def _flag(value: str | None, param: str) -> bool:
    if value in (None, "", "false", "0"):
        return False
    if value in ("true", "1"):
        return True
    raise QueryError(param, "true or false")


def stats_routes(rt: Runtime) -> list[BaseRoute]:
    api = StatsApi(rt)
    export = ExportApi(api)
    return [
        Route("/api/v1/stats/realtime/visitors", api.realtime),
        Route("/api/v1/stats/aggregate", api.aggregate),
        Route("/api/v1/stats/timeseries", api.timeseries),
        Route("/api/v1/stats/breakdown", api.breakdown),
        Route("/api/v1/export", export.export),
        Route("/api/v1/openapi.json", api.openapi),
        Route("/api/v2/query", QueryApi(rt).query, methods=["POST"]),
    ]
