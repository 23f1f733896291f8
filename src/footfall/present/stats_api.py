"""The Stats API, compatible with Plausible's Stats API v1 (same paths, parameters and shapes).

    GET /api/v1/stats/realtime/visitors?site_id=…
    GET /api/v1/stats/aggregate?site_id=…&period=30d&metrics=visitors,pageviews&compare=previous_period
    GET /api/v1/stats/timeseries?site_id=…&period=6mo&interval=month&metrics=visitors
    GET /api/v1/stats/breakdown?site_id=…&property=event:page&limit=10&page=1
    GET /api/v1/export?site_id=…&format=ndjson|csv|parquet&from=YYYY-MM-DD&to=YYYY-MM-DD

``Authorization: Bearer <key>`` (``footfall keys create``). ``site_id`` is the app's UUID or its
domain. Bad parameters answer 400 ``{"error": "<param>: …"}``; a missing or wrong key 401.
Queries run in a worker thread, so collection never waits on them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from footfall.keys import KeyRing
from footfall.model import ApiKey, App
from footfall.present.openapi import OPENAPI
from footfall.query import QueryError, QuerySpec, parse_filters
from footfall.query.spec import dimension
from footfall.runtime import Runtime
from footfall.store.base import StoreOutOfMemory

MAX_BREAKDOWN_LIMIT = 1000


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


class StatsApi:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.keys = KeyRing(rt.store, rt.clock)

    # -- shared -----------------------------------------------------------------------------
    def authorise(self, request: Request) -> ApiKey:
        header = request.headers.get("authorization", "")
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise ApiError(
                401, "missing API key: send Authorization: Bearer <key> (footfall keys create)"
            )
        key = self.keys.check(secret.strip())
        if key is None:
            raise ApiError(401, "invalid API key")
        return key

    def site(self, request: Request, key: ApiKey) -> App:
        site_id = request.query_params.get("site_id", "").strip()
        if not site_id:
            raise ApiError(400, "site_id: required (the app's UUID or domain)")
        app = self.rt.apps.resolve(site_id)
        if app is None:
            raise ApiError(400 if key.app_id is None else 401, f"site_id: no site {site_id!r}")
        if not KeyRing.may_read(key, app.id):
            raise ApiError(401, "this API key may not read that site")
        return app

    def spec(self, request: Request, app: App) -> QuerySpec:
        p = request.query_params
        return QuerySpec(
            app=app,
            period=p.get("period", "30d"),
            date=p.get("date") or None,
            filters=parse_filters(p.get("filters")),
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
            return _error(exc.status, exc.message)
        except QueryError as exc:
            return _error(400, f"{exc.param}: {exc.message}")
        except StoreOutOfMemory as exc:  # the question is fine; the server cannot afford it now
            return _error(503, str(exc))
        if isinstance(result, Response):
            return result
        return JSONResponse(result)

    # -- endpoints --------------------------------------------------------------------------
    async def realtime(self, request: Request) -> Response:
        return await self.run(request, lambda app: self.rt.engine.realtime_visitors(app))

    async def aggregate(self, request: Request) -> Response:
        compare = request.query_params.get("compare")
        if compare not in (None, "", "previous_period"):
            return _error(400, "compare: only compare=previous_period is supported")

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
            dimension(prop, "property")
            limit = _int(p.get("limit"), "limit", 100)
            if not 1 <= limit <= MAX_BREAKDOWN_LIMIT:
                raise QueryError("limit", f"between 1 and {MAX_BREAKDOWN_LIMIT}")
            page = _int(p.get("page"), "page", 1)
            q = self.spec(request, app)
            rows = self.rt.engine.breakdown(q, prop, self.metrics(request), limit, page)
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
    from footfall.present.export_api import ExportApi

    export = ExportApi(api)
    return [
        Route("/api/v1/stats/realtime/visitors", api.realtime),
        Route("/api/v1/stats/aggregate", api.aggregate),
        Route("/api/v1/stats/timeseries", api.timeseries),
        Route("/api/v1/stats/breakdown", api.breakdown),
        Route("/api/v1/export", export.export),
        Route("/api/v1/openapi.json", api.openapi),
    ]
