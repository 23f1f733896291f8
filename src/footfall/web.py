"""The ASGI application: every route of every stage, assembled in one place."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from footfall.collect.endpoints import EventEndpoint, PixelEndpoint
from footfall.collect.gtag import GtagEndpoint, GtagTracker
from footfall.collect.matomo import MatomoEndpoint, MatomoTracker
from footfall.collect.script import tracker_routes
from footfall.collect.umami import UmamiEndpoint
from footfall.dashboard import DashboardOptions, dashboard_routes
from footfall.runtime import Runtime
from footfall.store.base import StoreError

HOT_PATHS = frozenset(
    {"/p.gif", "/api/event", "/api/send", "/matomo.php", "/piwik.php", "/g/collect"}
)


def collect_routes(rt: Runtime) -> list[BaseRoute]:
    pixel = PixelEndpoint(rt.ingest, rt.resolver)
    matomo = MatomoEndpoint(
        MatomoTracker(rt.ingest, rt.resolver), rt.config.max_body
    )  # Matomo's tracking API (footfall.collect.matomo), on both of its paths
    return [
        Route("/p.gif", pixel, methods=["GET", "HEAD"]),
        Route(
            "/api/event",
            EventEndpoint(rt.ingest, rt.resolver, rt.config.max_body),
            methods=["POST", "OPTIONS"],
        ),
        Route(
            "/api/send",  # Umami's collection API (footfall.collect.umami)
            UmamiEndpoint(rt.ingest, rt.resolver, rt.config.max_body),
            methods=["POST", "OPTIONS"],
        ),
        Route("/matomo.php", matomo, methods=["GET", "POST", "OPTIONS"]),
        Route("/piwik.php", matomo, methods=["GET", "POST", "OPTIONS"]),
        Route(
            "/g/collect",  # GA4's client-side collection, as gtag.js sends it (footfall.collect.gtag)
            GtagEndpoint(GtagTracker(rt.ingest, rt.resolver), rt.config.max_body),
            methods=["GET", "POST", "OPTIONS"],
        ),
    ]


def serverside_routes(rt: Runtime) -> list[BaseRoute]:
    """Measurement Protocol v1 and GA4 receivers (docs/server-side.md)."""
    from footfall.collect.ga4 import GA4Endpoint, GA4Parser
    from footfall.collect.mp import V1Parser, V1Receiver
    from footfall.collect.mp_endpoints import BatchEndpoint, CollectEndpoint, DebugEndpoint

    parser = V1Parser(rt.apps, rt.clock)
    receiver = V1Receiver(rt.ingest, rt.resolver, parser)
    ga4 = GA4Parser(rt.apps, rt.clock)
    deps = (rt.ingest, rt.resolver)
    return [
        Route("/collect", CollectEndpoint(receiver), methods=["GET", "POST"]),
        Route("/batch", BatchEndpoint(receiver), methods=["POST"]),
        Route("/debug/collect", DebugEndpoint(parser), methods=["GET", "POST"]),
        Route("/mp/collect", GA4Endpoint(ga4, *deps), methods=["POST"]),
        Route("/debug/mp/collect", GA4Endpoint(ga4, *deps, debug=True), methods=["POST"]),
    ]


def ops_routes(rt: Runtime) -> list[BaseRoute]:
    async def health(request: Request) -> Response:
        """200 while the store answers and takes writes; 503 with the reason otherwise. Hits
        are still taken into the spool meanwhile, until it is full."""
        reason = None
        try:  # off the event loop: in a collector these are calls to the writer's process
            writer = await run_in_threadpool(rt.writer_status)
        except StoreError as exc:  # a collector whose writer's process does not answer
            writer, reason = {"pending": None}, f"the writer does not answer: {exc}"
        else:
            if writer["write_error"] is not None:
                reason = f"writes to the store fail: {writer['write_error']}"
            elif not await run_in_threadpool(rt.store.ping):
                reason = "the store does not answer"
        body: dict[str, object] = {"status": "ok", "store": rt.store.backend}
        if reason is not None:
            body.update(status="unavailable", reason=reason)
        body["spool_bytes"] = rt.buffer.backlog_bytes
        body["pending"] = writer["pending"]
        if rt.config.workers > 1:  # processes serving HTTP: the writer's and collectors reporting
            body["processes"] = writer.get("processes")
        return JSONResponse(body, status_code=503 if reason else 200)

    async def metrics(request: Request) -> Response:
        """Prometheus text; the hit counters are summed over every process (footfall.workers)."""
        try:
            writer = await run_in_threadpool(rt.writer_status)
        except StoreError as exc:
            return JSONResponse({"error": f"the writer does not answer: {exc}"}, status_code=503)
        lines = [
            "# TYPE footfall_hits_accepted_total counter",
            f"footfall_hits_accepted_total {writer['accepted']}",
            "# TYPE footfall_hits_ignored_total counter",
        ]
        lines += [
            f'footfall_hits_ignored_total{{reason="{r}"}} {n}'
            for r, n in sorted(writer["ignored"].items())
        ]
        lines += [
            "# TYPE footfall_buffer_pending gauge",
            f"footfall_buffer_pending {writer['pending']}",
            "# TYPE footfall_spool_bytes gauge",
            f"footfall_spool_bytes {rt.buffer.backlog_bytes}",
            "# TYPE footfall_hits_written_total counter",
            f"footfall_hits_written_total {writer['written']}",
            "# TYPE footfall_store_write_failures_total counter",
            f"footfall_store_write_failures_total {writer['failures']}",
            "# TYPE footfall_spool_segments gauge",
            f"footfall_spool_segments {writer['segments']}",
            "# TYPE footfall_writer_lag_seconds gauge",
            f"footfall_writer_lag_seconds {writer['lag_s']:.3f}",
            "# TYPE footfall_writer_load_seconds gauge",
            f"footfall_writer_load_seconds {writer['load_s']:.3f}",
            "# TYPE footfall_rollup_folds_total counter",
            f"footfall_rollup_folds_total {writer['folds']}",
            "# TYPE footfall_rollup_waiting gauge",
            f"footfall_rollup_waiting {writer['fold_waiting']}",
        ]
        return PlainTextResponse("\n".join(lines) + "\n")

    return [
        Route("/-/health", health),
        Route("/-/health/ready", health),
        Route("/-/metrics", metrics),
    ]


class HotPaths:
    """Sends the collection endpoints straight to their handlers, past Starlette's middleware and
    router (they build no framework objects and never raise); everything else goes to the app."""

    def __init__(
        self,
        app: ASGIApp,
        fast: dict[str, tuple[ASGIApp, frozenset[str]]],
        group_commit: tuple[Callable[[], AbstractContextManager[None]], Callable[[], None]]
        | None = None,
    ) -> None:
        """``group_commit``: (deferring, sync) of a spool under ``--spool-fsync always``: the
        fast path's answers wait for one fsync a turn of the event loop (footfall.server)."""
        self.app = app
        self.fast = fast
        self.group_commit = group_commit
        # answered without the ASGI round trip by servers that can (footfall.server's protocol):
        # path -> (methods, PixelEndpoint.response: the request's facts -> the whole HTTP response)
        self.sync_responders = {
            path: (methods, endpoint.response)
            for path, (endpoint, methods) in fast.items()
            if isinstance(endpoint, PixelEndpoint)
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            route = self.fast.get(scope["path"])
            if route is not None and scope["method"] in route[1]:
                await route[0](scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(rt: Runtime, *, dashboard: DashboardOptions | None = None) -> ASGIApp:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        rt.start()
        try:
            yield
        finally:
            rt.close()

    from footfall.present.sites_api import sites_routes
    from footfall.present.stats_api import stats_routes

    routes = (
        collect_routes(rt)
        + serverside_routes(rt)
        + tracker_routes()
        + ops_routes(rt)
        + stats_routes(rt)
        + sites_routes(rt)  # Plausible's Sites API
        + dashboard_routes(rt, dashboard)
    )
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.runtime = rt
    fast = {
        r.path: (r.app, frozenset(r.methods or ()))
        for r in routes
        if isinstance(r, Route) and r.path in HOT_PATHS and r.methods
    }
    spool = rt.buffer.spool
    group_commit = (spool.deferring, spool.sync_deferred) if spool.fsync == "always" else None
    return HotPaths(app, fast, group_commit)
