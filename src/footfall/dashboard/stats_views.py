"""The app dashboard (/apps/{id}), its public read-only twin (/share/{token}) and "visitors now"."""

from __future__ import annotations

import hmac
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from footfall.dashboard.accounts import Login
from footfall.dashboard.engine import QueryEngine, QueryError
from footfall.dashboard.panels import TAB_PARAMS, load
from footfall.dashboard.params import PERIOD_KEYS, PERIODS, ViewState
from footfall.dashboard.site import Dashboard, Problem
from footfall.model import App


class StatsViews:
    def __init__(self, d: Dashboard, engine: QueryEngine) -> None:
        self.d = d
        self.engine = engine

    def shared_app(self, request: Request) -> App:
        token = request.path_params["token"]
        for app in self.d.rt.apps.all():
            if app.public_token and hmac.compare_digest(app.public_token, token):
                return app
        raise Problem(404, "This link does not exist or was revoked.")

    def _has_hits(self, app: App) -> bool:
        return self.d.rt.store.count_events(app.id) > 0

    async def _page(
        self, request: Request, app: App, *, base: str, login: Login | None
    ) -> Response:
        try:
            view = ViewState.from_query(parse_qs(request.url.query, max_num_fields=50), TAB_PARAMS)
            data = await load(self.engine, app, view, cities=bool(self.d.rt.config.geoip_db))
        except QueryError as exc:
            raise Problem(400, f"{exc.param}: {str(exc)[:300]}") from None
        # an app that never got a hit: say how to get the first (asked only when all is zero)
        quiet = all(not h.value for h in data.headline) and not data.realtime
        empty = login is not None and quiet and not await self.d.blocking(self._has_hits, app)
        start, end = view.custom_range
        return self.d.render(
            request,
            "dashboard.html",
            login=login,
            app=app,
            base=base,
            public=login is None,
            view=view,
            data=data,
            empty=empty,
            periods=[
                (key, title, view.with_period(key), PERIOD_KEYS[key])
                for key, title in PERIODS
                if key != "custom"
            ],
            custom_from=start,
            custom_to=end,
        )

    async def app_page(self, request: Request) -> Response:
        login = await self.d.require_login(request)
        app = self.d.readable_app(login, request.path_params["app_id"])
        return await self._page(request, app, base=f"/apps/{app.id}", login=login)

    async def share_page(self, request: Request) -> Response:
        app = self.shared_app(request)
        response = await self._page(request, app, base=f"/share/{app.public_token}", login=None)
        response.headers["x-robots-tag"] = "noindex"
        return response

    async def realtime(self, request: Request) -> Response:
        login = await self.d.require_login(request)
        app = self.d.readable_app(login, request.path_params["app_id"])
        count = await self.d.blocking(self.engine.realtime_visitors, app)
        return JSONResponse({"visitors": count})

    async def share_realtime(self, request: Request) -> Response:
        app = self.shared_app(request)
        count = await self.d.blocking(self.engine.realtime_visitors, app)
        return JSONResponse({"visitors": count})
