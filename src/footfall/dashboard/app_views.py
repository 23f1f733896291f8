"""Apps: the list, adding one (with its snippets), settings, the public link and the API secret."""

from __future__ import annotations

import asyncio
import ipaddress
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from footfall.apps import AppError, cookie_warning
from footfall.dashboard.accounts import Login
from footfall.dashboard.charts import sparkline
from footfall.dashboard.engine import QueryEngine, QuerySpec
from footfall.dashboard.site import Dashboard, Problem, first
from footfall.goals import GoalBook, GoalError, parse_props
from footfall.keys import KeyRing
from footfall.model import App
from footfall.present.snippet import NOSCRIPT, pixel_snippet, snippet


@dataclass(frozen=True)
class AppRow:
    app: App
    today: int
    spark: str


class SettingsError(ValueError):
    pass


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]


def settings_from_form(app: App, form: dict[str, list[str]]) -> App:
    """The app with the settings form applied; SettingsError names the first bad field."""
    from footfall.apps import normalise_url

    name = first(form, "name").strip()
    if not name:
        raise SettingsError("The app needs a name.")
    timezone = first(form, "timezone", "UTC").strip() or "UTC"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"Unknown time zone {timezone!r} (e.g. Europe/Berlin).") from None
    identity = first(form, "identity")
    if identity not in ("cookie", "cookieless", "first-party"):
        raise SettingsError("Choose an identity mode.")
    dnt_action = first(form, "dnt_action")
    if dnt_action not in ("anonymous", "drop"):
        raise SettingsError("Choose what honouring Do-Not-Track means.")
    ips = []
    for value in _lines(first(form, "exclude_ips")):
        try:
            ips.append(str(ipaddress.ip_network(value, strict=False)))
        except ValueError:
            raise SettingsError(f"{value!r} is not an address or CIDR range.") from None
    retention_text = first(form, "retention_days").strip()
    retention: int | None = None
    if retention_text:
        if not retention_text.isdigit() or not 1 <= int(retention_text) <= 36_500:
            raise SettingsError("Retention is a number of days (1–36500), or empty for forever.")
        retention = int(retention_text)
    full_ip = {"": None, "on": True, "off": False}.get(first(form, "store_full_ip"), None)
    try:
        url = normalise_url(first(form, "url"))
    except AppError as exc:
        raise SettingsError(str(exc)) from None
    return msgspec.structs.replace(
        app,
        name=name[:200],
        url=url,
        timezone=timezone,
        identity=identity,
        respect_dnt=first(form, "respect_dnt") == "on",
        dnt_action=dnt_action,
        exclude_ips=ips,
        exclude_paths=_lines(first(form, "exclude_paths"))[:100],
        retention_days=retention,
        aliases=_lines(first(form, "aliases"))[:50],
        store_full_ip=full_ip,
        require_api_key=first(form, "require_api_key") == "on",
    )


class AppViews:
    def __init__(self, d: Dashboard, engine: QueryEngine) -> None:
        self.d = d
        self.engine = engine

    def _base_url(self, request: Request) -> str:
        scheme = "https" if self.d.secure(request) else "http"
        return f"{scheme}://{request.headers.get('host', '127.0.0.1')}"

    def _row(self, app: App) -> AppRow:
        today = self.engine.aggregate(QuerySpec(app=app, period="day"), ["visitors"])
        series = self.engine.timeseries(QuerySpec(app=app, period="30d"), ["visitors"])
        return AppRow(
            app=app,
            today=int(today["visitors"]["value"] or 0),
            spark=sparkline([int(r.get("visitors") or 0) for r in series]),  # type: ignore[call-overload]
        )

    async def apps_page(self, request: Request) -> Response:
        login = await self.d.require_login(request)
        apps = [a for a in self.d.rt.apps.all() if login.user.can_read(a.id)]
        rows = await asyncio.gather(*(run_in_threadpool(self._row, a) for a in apps))
        return self.d.render(request, "apps.html", login=login, rows=rows)

    async def new_app_page(self, request: Request) -> Response:
        login = await self.d.require_login(request)
        self.d.require_owner(login)
        return self.d.render(request, "app_new.html", login=login, error="", name="", url="")

    async def create_app(self, request: Request) -> Response:
        login = await self.d.require_login(request)
        self.d.require_owner(login)
        form = await self.d.checked_form(request, login)
        name, url = first(form, "name"), first(form, "url")
        try:
            app = await self.d.blocking(self.d.rt.apps.create, name, url)
        except AppError as exc:
            return self.d.render(
                request, "app_new.html", status=400, login=login, error=str(exc), name=name, url=url
            )
        return RedirectResponse(f"/apps/{app.id}/setup", 303)

    async def _owned_app(self, request: Request) -> tuple[Login, App]:
        login = await self.d.require_login(request)
        app = self.d.readable_app(login, request.path_params["app_id"])
        self.d.require_owner(login)
        return login, app

    async def setup_page(self, request: Request) -> Response:
        login, app = await self._owned_app(request)
        base = self._base_url(request)
        return self.d.render(
            request,
            "app_setup.html",
            login=login,
            app=app,
            base=base,
            snippet=snippet(app, base),
            noscript=NOSCRIPT.format(app=app.id, base=base),
            pixel=pixel_snippet(app, base),
            tid=app.aliases[0] if app.aliases else app.id,
        )

    async def settings_page(self, request: Request) -> Response:
        login, app = await self._owned_app(request)
        return await self._settings(
            request, login, app, saved=request.query_params.get("saved") == "1"
        )

    async def _settings(
        self,
        request: Request,
        login: Login,
        app: App,
        *,
        status: int = 200,
        error: str = "",
        saved: bool = False,
        new_key: str = "",
        goal_error: str = "",
        funnel_error: str = "",
        form: dict[str, list[str]] | None = None,
    ) -> Response:
        ring = KeyRing(self.d.rt.store, self.d.clock)
        keys = [k for k in await self.d.blocking(ring.list) if k.app_id == app.id]
        book = self._book()
        goals = await self.d.blocking(book.goals, app)
        funnels = await self.d.blocking(book.funnels, app)
        return self.d.render(
            request,
            "app_settings.html",
            status=status,
            login=login,
            app=app,
            error=error,
            saved=saved,
            warning=cookie_warning(app, urlsplit(self._base_url(request)).hostname),
            base=self._base_url(request),
            keys=keys,
            new_key=new_key,
            goals=goals,
            funnels=funnels,
            goal_error=goal_error,
            funnel_error=funnel_error,
            form={k: v[0] for k, v in (form or {}).items() if v and k != "csrf"},
        )

    async def save_settings(self, request: Request) -> Response:
        login, app = await self._owned_app(request)
        form = await self.d.checked_form(request, login)
        try:
            changed = settings_from_form(app, form)
            await self.d.blocking(self.d.rt.apps.save, changed)
        except (SettingsError, AppError) as exc:
            return await self._settings(request, login, app, status=400, error=str(exc))
        return RedirectResponse(f"/apps/{app.id}/settings?saved=1", 303)

    async def share(self, request: Request) -> Response:
        """action=enable makes a new secret link (replacing any old one); action=revoke removes it."""
        login, app = await self._owned_app(request)
        form = await self.d.checked_form(request, login)
        action = first(form, "action")
        if action not in ("enable", "revoke"):
            raise Problem(400, "Unknown action: choose enable or revoke.")
        token = secrets.token_urlsafe(24) if action == "enable" else None
        await self.d.blocking(self.d.rt.apps.save, msgspec.structs.replace(app, public_token=token))
        return RedirectResponse(f"/apps/{app.id}/settings?saved=1#sharing", 303)

    async def api_keys(self, request: Request) -> Response:
        """Stats API keys for this app: action=create shows the new key once (in this response
        only, never in a URL); action=revoke with key_id ends one of this app's keys."""
        login, app = await self._owned_app(request)
        form = await self.d.checked_form(request, login)
        ring = KeyRing(self.d.rt.store, self.d.clock)
        action = first(form, "action")
        if action == "create":
            _, secret = await self.d.blocking(ring.create, app.id, first(form, "name").strip())
            return await self._settings(request, login, app, new_key=secret)
        if action == "revoke":
            key_id = first(form, "key_id")
            keys = await self.d.blocking(ring.list)
            if not any(k.id == key_id and k.app_id == app.id for k in keys):
                raise Problem(404, "There is no such key for this app.")
            await self.d.blocking(ring.revoke, key_id)
            return RedirectResponse(f"/apps/{app.id}/settings?saved=1#keys", 303)
        raise Problem(400, "Unknown action: choose create or revoke.")

    def _book(self) -> GoalBook:
        return GoalBook(self.d.rt.store, self.d.clock)

    async def goals(self, request: Request) -> Response:
        """action=create adds a goal (a page glob or an event, optional properties and revenue);
        action=delete with goal_id removes one. A bad goal is a form error (400)."""
        login, app = await self._owned_app(request)
        form = await self.d.checked_form(request, login)
        book = self._book()
        action = first(form, "action")
        try:
            if action == "create":
                kind = first(form, "kind")
                if kind not in ("page", "event"):
                    raise GoalError("Choose whether the goal is a page or an event.")
                await self.d.blocking(
                    lambda: book.add_goal(
                        app,
                        name=first(form, "name"),
                        page=first(form, "page") if kind == "page" else "",
                        event=first(form, "event") if kind == "event" else "",
                        props=parse_props(first(form, "props").splitlines())
                        if kind == "event"
                        else {},
                        currency=first(form, "currency") if kind == "event" else "",
                        amount_prop=first(form, "amount_prop") if kind == "event" else "",
                    )
                )
            elif action == "delete":
                goal_id = first(form, "goal_id")
                await self.d.blocking(book.delete_goal, app, goal_id)
            else:
                raise Problem(400, "Unknown action: choose create or delete.")
        except GoalError as exc:
            return await self._settings(
                request, login, app, status=400, goal_error=_sentence(str(exc)), form=form
            )
        return RedirectResponse(f"/apps/{app.id}/settings?saved=1#goals", 303)

    async def funnels(self, request: Request) -> Response:
        """action=create adds a funnel (2–8 steps, one a line: a goal's name or a page path);
        action=delete with funnel_id removes one."""
        login, app = await self._owned_app(request)
        form = await self.d.checked_form(request, login)
        book = self._book()
        action = first(form, "action")
        try:
            if action == "create":
                steps = first(form, "steps").splitlines()
                await self.d.blocking(book.add_funnel, app, first(form, "name"), steps)
            elif action == "delete":
                await self.d.blocking(book.delete_funnel, app, first(form, "funnel_id"))
            else:
                raise Problem(400, "Unknown action: choose create or delete.")
        except GoalError as exc:
            return await self._settings(
                request, login, app, status=400, funnel_error=_sentence(str(exc)), form=form
            )
        return RedirectResponse(f"/apps/{app.id}/settings?saved=1#funnels", 303)

    async def new_secret(self, request: Request) -> Response:
        login, app = await self._owned_app(request)
        await self.d.checked_form(request, login)
        changed = msgspec.structs.replace(app, api_secret=secrets.token_urlsafe(18))
        await self.d.blocking(self.d.rt.apps.save, changed)
        return RedirectResponse(f"/apps/{app.id}/settings?saved=1#api", 303)


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")
