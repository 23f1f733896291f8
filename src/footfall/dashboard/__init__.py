"""The web dashboard: logins, accounts and users, apps, the analytics view, realtime and public
links."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from footfall.dashboard.account_views import AccountViews
from footfall.dashboard.app_views import AppViews
from footfall.dashboard.auth_views import AuthViews
from footfall.dashboard.exports import Exports
from footfall.dashboard.site import Dashboard, DashboardOptions
from footfall.dashboard.stats_views import StatsViews
from footfall.dashboard.users_views import UsersViews
from footfall.runtime import Runtime


def dashboard_routes(rt: Runtime, options: DashboardOptions | None = None) -> list[BaseRoute]:
    d = Dashboard(rt, options)
    engine = rt.engine  # shares the runtime's rollups
    auth, apps, stats = AuthViews(d), AppViews(d, engine), StatsViews(d, engine)
    account, users, exports = AccountViews(d), UsersViews(d), Exports(d, engine)

    async def shared_panel(request: Request) -> Response:
        return await exports.shared_panel(request, stats.shared_app(request))

    async def home(request: Request) -> Response:
        return RedirectResponse("/apps" if await d.login_of(request) else "/login", 303)

    page = d.page
    return [
        Route("/", page(home)),
        Route("/login", page(auth.login_page), methods=["GET"]),
        Route("/login", page(auth.login), methods=["POST"]),
        Route("/login/code", page(auth.code_page), methods=["GET"]),
        Route("/login/code", page(auth.code), methods=["POST"]),
        Route("/logout", page(auth.logout), methods=["POST"]),
        Route("/account", page(account.account_page), methods=["GET"]),
        Route("/account/password", page(account.password), methods=["POST"]),
        Route("/account/two-factor", page(account.two_factor), methods=["POST"]),
        Route("/users", page(users.users_page), methods=["GET"]),
        Route("/users/invite", page(users.invite), methods=["POST"]),
        Route("/users/access", page(users.access), methods=["POST"]),
        Route("/users/remove", page(users.remove), methods=["POST"]),
        Route("/users/revoke", page(users.revoke), methods=["POST"]),
        Route("/invite/{token}", page(users.invitation), methods=["GET", "POST"]),
        Route("/apps", page(apps.apps_page)),
        Route("/apps/new", page(apps.new_app_page), methods=["GET"]),
        Route("/apps/new", page(apps.create_app), methods=["POST"]),
        Route("/apps/{app_id}", page(stats.app_page)),
        Route("/apps/{app_id}/realtime", page(stats.realtime, json=True)),
        Route("/apps/{app_id}/export/raw-events.csv", page(exports.events)),
        Route("/apps/{app_id}/export/{panel}.csv", page(exports.panel)),
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
        Route("/share/{token}/export/{panel}.csv", page(shared_panel)),
        Route("/assets/{name}", d.assets),
    ]
