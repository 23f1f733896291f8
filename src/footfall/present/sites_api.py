"""Plausible's Sites API on footfall's apps: provisioning for integrations written against it.

A site is an app; its ``domain`` is the host of the app's URL and ``site_id`` in a request names
the app by that domain, its UUID or an alias. Only keys made with ``footfall keys create
--sites`` (for every app) may call it; others get 401. The answers have Plausible's keys:

    GET    /api/v1/sites                  {"sites": [{"domain", "timezone"}…], "meta": {…}}
    POST   /api/v1/sites                  {"domain", "timezone"?} -> {"domain", "timezone"}
    GET    /api/v1/sites/{site_id}        {"domain", "timezone"}
    PUT    /api/v1/sites/{site_id}        {"domain"?, "timezone"?} -> {"domain", "timezone"}
    DELETE /api/v1/sites/{site_id}        {"deleted": true}
    PUT    /api/v1/sites/shared-links     {"site_id", "name"} -> {"name", "url"}
    GET    /api/v1/sites/goals?site_id=   {"goals": [{"id", "display_name", "goal_type",
                                           "event_name", "page_path", "domain"}…], "meta": {…}}
    PUT    /api/v1/sites/goals            {"site_id", "goal_type": "event"|"page",
                                           "event_name" | "page_path"} -> the goal
    DELETE /api/v1/sites/goals/{goal_id}  {"site_id"} (body or query) -> {"deleted": true}

Lists are paged by ``limit`` (1–100, default 100) and the ``after``/``before`` cursors of
``meta`` (an app's or goal's id). A shared link is the app's public dashboard link (footfall has one
per app: its ``name`` is echoed); finding one makes it if the app has none. Goals are found by
type and value, else made. Bad input is a 400 ``{"error": …}``; an unknown site or goal a 404.
"""

from __future__ import annotations

import secrets
import zoneinfo
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from footfall.apps import AppError, site_domain
from footfall.goals import GoalBook, GoalError
from footfall.model import App, Goal
from footfall.present.api_access import ApiAccess, ApiError, error_json
from footfall.runtime import Runtime

MAX_BODY = 16_384
MAX_LIMIT = 100
T = TypeVar("T", App, Goal)


def domain_of(app: App) -> str:
    return site_domain(app.hostname or "") or app.name


def site_json(app: App) -> dict[str, Any]:
    return {"domain": domain_of(app), "timezone": app.timezone or "UTC"}


def goal_json(goal: Goal, app: App) -> dict[str, Any]:
    return {
        "id": goal.id,
        "display_name": goal.name,
        "goal_type": "page" if goal.page else "event",
        "event_name": goal.event or None,
        "page_path": goal.page or None,
        "domain": domain_of(app),
    }


def page(items: Sequence[T], request: Request) -> tuple[list[T], dict[str, Any]]:
    """One page of ``items`` (in their order) by ``limit`` and the ``after``/``before`` ids."""
    params = request.query_params
    raw = params.get("limit", str(MAX_LIMIT))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise ApiError(400, f"limit: a whole number from 1 to {MAX_LIMIT}")
    limit = int(raw)
    ids = [item.id for item in items]
    after, before = params.get("after"), params.get("before")
    start, end = 0, len(items)
    if after:
        start = ids.index(after) + 1 if after in ids else len(items)
    if before:
        end = ids.index(before) if before in ids else 0
        start = max(start, end - limit)
    chosen = list(items[start : min(end, start + limit)])
    meta = {
        "after": chosen[-1].id if chosen and start + len(chosen) < len(items) else None,
        "before": chosen[0].id if chosen and start > 0 else None,
        "limit": limit,
    }
    return chosen, meta


Body = dict[str, Any]


class SitesApi(ApiAccess):
    def __init__(self, rt: Runtime) -> None:
        super().__init__(rt)
        self.goals = GoalBook(rt.store, rt.clock)

    async def run(self, request: Request, answer: Callable[[Body], Any]) -> Response:
        """Check the key, read a JSON body (if any), and answer ``answer(body)`` off the loop."""
        try:
            key = self.authorise(request)
            if not key.sites:
                raise ApiError(
                    401, "this API key may not manage sites (footfall keys create --sites)"
                )
            body = await self.body(request)
            return JSONResponse(await run_in_threadpool(answer, body))
        except ApiError as exc:
            return error_json(exc.status, exc.message)
        except (AppError, GoalError) as exc:
            return error_json(400, str(exc))

    @staticmethod
    async def body(request: Request) -> Body:
        if request.method in ("GET", "HEAD"):
            return {}
        raw = await request.body()
        if len(raw) > MAX_BODY:
            raise ApiError(413, f"a request body of at most {MAX_BODY} bytes")
        if not raw.strip():
            return {}
        try:
            found = msgspec.json.decode(raw)
        except msgspec.DecodeError:
            raise ApiError(400, "the body is not JSON") from None
        if not isinstance(found, dict):
            raise ApiError(400, "the body is a JSON object")
        return found

    def find(self, site_id: object) -> App:
        if not isinstance(site_id, str) or not site_id.strip():
            raise ApiError(400, "Parameter `site_id` is required")
        app = self.rt.apps.resolve(site_id)
        if app is None:
            raise ApiError(404, "Site could not be found")
        return app

    @staticmethod
    def text(body: Body, name: str, what: str) -> str:
        value = body.get(name)
        if not isinstance(value, str) or not value.strip():
            raise ApiError(400, f"Parameter `{name}` is required {what}")
        return value.strip()

    @staticmethod
    def timezone(value: object) -> str:
        if value is None:
            return "UTC"
        if not isinstance(value, str) or value not in zoneinfo.available_timezones():
            raise ApiError(400, "timezone is invalid: an IANA time zone such as Europe/Berlin")
        return value

    def new_domain(self, value: object, app: App | None = None) -> str:
        if not isinstance(value, str) or not value.strip():
            raise ApiError(400, "domain can't be blank")
        domain = site_domain(value.strip().removeprefix("https://").removeprefix("http://"))
        if not domain or any(c in domain for c in "/?#@ :") or len(domain) > 253:
            raise ApiError(400, "domain must be a host name such as example.com")
        taken = self.rt.apps.by_site(domain)
        if taken is not None and (app is None or taken.id != app.id):
            raise ApiError(400, "domain This domain has already been taken")
        return domain

    # -- sites ------------------------------------------------------------------------------
    async def list_sites(self, request: Request) -> Response:
        def answer(_: Body) -> Any:
            sites, meta = page(self.rt.apps.all(), request)
            return {"sites": [site_json(a) for a in sites], "meta": meta}

        return await self.run(request, answer)

    async def create_site(self, request: Request) -> Response:
        def answer(body: Body) -> Any:
            domain = self.new_domain(body.get("domain"))
            zone = self.timezone(body.get("timezone"))
            app = self.rt.apps.create(domain, f"https://{domain}")
            if zone != "UTC":
                app = msgspec.structs.replace(app, timezone=zone)
                self.rt.apps.save(app)
            return site_json(app)

        return await self.run(request, answer)

    async def get_site(self, request: Request) -> Response:
        return await self.run(
            request, lambda _: site_json(self.find(request.path_params["site_id"]))
        )

    async def update_site(self, request: Request) -> Response:
        def answer(body: Body) -> Any:
            app = self.find(request.path_params["site_id"])
            if "domain" in body:
                domain = self.new_domain(body["domain"], app)
                named = app.name == domain_of(app)  # named after its domain: renamed with it
                app = msgspec.structs.replace(
                    app, url=f"https://{domain}", name=domain if named else app.name
                )
            if "timezone" in body:
                app = msgspec.structs.replace(app, timezone=self.timezone(body["timezone"]))
            self.rt.apps.save(app)
            return site_json(self.rt.apps.get(app.id) or app)

        return await self.run(request, answer)

    async def delete_site(self, request: Request) -> Response:
        def answer(_: Body) -> Any:
            self.rt.apps.delete(self.find(request.path_params["site_id"]).id)
            return {"deleted": True}

        return await self.run(request, answer)

    async def shared_link(self, request: Request) -> Response:
        base = f"{request.url.scheme}://{request.url.netloc}"

        def answer(body: Body) -> Any:
            app = self.find(body.get("site_id"))
            name = self.text(body, "name", "to create a shared link")
            if not app.public_token:
                app = msgspec.structs.replace(app, public_token=secrets.token_urlsafe(24))
                self.rt.apps.save(app)
            return {"name": name, "url": f"{base}/share/{app.public_token}"}

        return await self.run(request, answer)

    # -- goals ------------------------------------------------------------------------------
    async def list_goals(self, request: Request) -> Response:
        def answer(_: Body) -> Any:
            app = self.find(request.query_params.get("site_id"))
            goals, meta = page(self.goals.goals(app), request)
            return {"goals": [goal_json(g, app) for g in goals], "meta": meta}

        return await self.run(request, answer)

    async def put_goal(self, request: Request) -> Response:
        def answer(body: Body) -> Any:
            app = self.find(body.get("site_id"))
            kind = body.get("goal_type")
            if kind == "event":
                value, field = self.text(body, "event_name", "to create an event goal"), "event"
            elif kind == "page":
                value, field = self.text(body, "page_path", "to create a page goal"), "page"
            else:
                raise ApiError(400, "Parameter `goal_type` is required: event or page")
            for goal in self.goals.goals(app):  # found by type and value, as Plausible's
                if getattr(goal, field) == value and not goal.props and not goal.currency:
                    return goal_json(goal, app)
            return goal_json(self.goals.add_goal(app, **{field: value}), app)

        return await self.run(request, answer)

    async def delete_goal(self, request: Request) -> Response:
        def answer(body: Body) -> Any:
            app = self.find(body.get("site_id") or request.query_params.get("site_id"))
            goal_id = request.path_params["goal_id"]
            if not any(g.id == goal_id for g in self.goals.goals(app)):
                raise ApiError(404, "Goal could not be found")
            self.goals.delete_goal(app, goal_id)
            return {"deleted": True}

        return await self.run(request, answer)


def sites_routes(rt: Runtime) -> list[BaseRoute]:
    api = SitesApi(rt)
    return [
        Route("/api/v1/sites", api.list_sites, methods=["GET"]),
        Route("/api/v1/sites", api.create_site, methods=["POST"]),
        Route("/api/v1/sites/shared-links", api.shared_link, methods=["PUT"]),
        Route("/api/v1/sites/goals", api.list_goals, methods=["GET"]),
        Route("/api/v1/sites/goals", api.put_goal, methods=["PUT"]),
        Route("/api/v1/sites/goals/{goal_id}", api.delete_goal, methods=["DELETE"]),
        Route("/api/v1/sites/{site_id}", api.get_site, methods=["GET"]),
        Route("/api/v1/sites/{site_id}", api.update_site, methods=["PUT"]),
        Route("/api/v1/sites/{site_id}", api.delete_site, methods=["DELETE"]),
    ]
