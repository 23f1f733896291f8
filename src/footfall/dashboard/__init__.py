"""The web dashboard: logins, apps, the analytics view, realtime and public links."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from footfall.dashboard.app_views import AppViews
from footfall.dashboard.auth_views import AuthViews
from footfall.dashboard.site import Dashboard, DashboardOptions
from footfall.dashboard.stats_views import StatsViews
from footfall.runtime import Runtime


def dashboard_routes(rt: Runtime, options: DashboardOptions | None = None) -> list[BaseRoute]:
    d = Dashboard(rt, options)
    engine = rt.engine  # shares the runtime's rollups
    auth, apps, stats = AuthViews(d), AppViews(d, engine), StatsViews(d, engine)

    async def home(request: Request) -> Response:
        return RedirectResponse("/apps" if await d.login_of(request) else "/login", 303)

    page = d.page
    return [
        Route("/", page(home)),
        Route("/login", page(auth.login_page), methods=["GET"]),
        Route("/login", page(auth.login), methods=["POST"]),
        Route("/logout", page(auth.logout), methods=["POST"]),
        Route("/apps", page(apps.apps_page)),
        Route("/apps/new", page(apps.new_app_page), methods=["GET"]),
        Route("/apps/new", page(apps.create_app), methods=["POST"]),
        Route("/apps/{app_id}", page(stats.app_page)),
        Route("/apps/{app_id}/realtime", page(stats.realtime, json=True)),
        Route("/apps/{app_id}/setup", page(apps.setup_page)),
        Route("/apps/{app_id}/settings", page(apps.settings_page), methods=["GET"]),
        Route("/apps/{app_id}/settings", page(apps.save_settings), methods=["POST"]),
        Route("/apps/{app_id}/share", page(apps.share), methods=["POST"]),
        Route("/apps/{app_id}/secret", page(apps.new_secret), methods=["POST"]),
        Route("/apps/{app_id}/keys", page(apps.api_keys), methods=["POST"]),
        Route("/apps/{app_id}/goals", page(apps.goals), methods=["POST"]),
        Route("/apps/{app_id}/funnels", page(apps.funnels), methods=["POST"]),
        Route("/share/{token}", page(stats.share_page)),
        Route("/share/{token}/realtime", page(stats.share_realtime, json=True)),
        Route("/assets/{name}", d.assets),
    ]
