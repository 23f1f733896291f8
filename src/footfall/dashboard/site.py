"""The dashboard's shared plumbing: templates, security headers, cookies, forms, logins and CSRF.

Every dashboard endpoint is wrapped by ``Dashboard.page``, which adds the security headers and turns
``Problem`` exceptions into an HTML error page (or JSON for API-like endpoints). The collect endpoints
never pass through here.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qs, quote

import jinja2
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from footfall.collect.request import scope_headers
from footfall.dashboard.accounts import SESSION_DAYS, Accounts, Login
from footfall.dashboard.assets import Assets
from footfall.dashboard.people import People
from footfall.dashboard.throttle import LoginLimits, LoginThrottle
from footfall.model import App, Context
from footfall.runtime import Runtime
from footfall.store.base import StoreOutOfMemory

if TYPE_CHECKING:
    from argon2 import PasswordHasher

log = logging.getLogger("footfall.dashboard")
MAX_FORM = 65_536
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cache-control": "no-store",
}
Endpoint = Callable[[Request], Awaitable[Response]]


class Problem(Exception):
    """Stop handling a request with an error page: ``status`` and a message for the person."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class LoginNeeded(Exception):
    pass


def safe_next(target: str | None) -> str:
    """Only same-site paths are followed after login (no //host, no backslashes, no schemes)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/apps"
    return target


@dataclass(frozen=True, slots=True)
class DashboardOptions:
    """What an embedding program (the tests) may change about the dashboard; not settings."""

    password_hasher: PasswordHasher | None = None  # None: argon2-cffi's default costs
    realtime_seconds: int = 15  # how often the realtime view asks again
    login_limits: LoginLimits | None = None  # None: footfall.dashboard.throttle's numbers


class Dashboard:
    def __init__(self, rt: Runtime, options: DashboardOptions | None = None) -> None:
        options = options or DashboardOptions()
        self.rt = rt
        self.clock = rt.clock
        self.accounts = Accounts(rt.store, rt.clock, options.password_hasher)
        self.people = People(self.accounts)
        self.throttle = LoginThrottle(rt.clock, options.login_limits)
        self.assets = Assets()
        self.realtime_seconds = options.realtime_seconds
        self.templates = jinja2.Environment(
            loader=jinja2.PackageLoader("footfall", "templates/dashboard"),
            autoescape=True,  # every template, every value: stored strings are attacker-controlled
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates.filters["number"] = format_number
        self.templates.filters["duration"] = format_duration
        self.templates.filters["percent"] = lambda v: f"{v:,.0f}" if v < 10_000 else "9,999+"

    # -- request facts -----------------------------------------------------------------------
    def _context(self, request: Request) -> Context:
        scope = cast(dict[str, Any], request.scope)
        return self.rt.resolver.context(scope, scope_headers(scope))

    def secure(self, request: Request) -> bool:
        return self._context(request).secure

    def client_ip(self, request: Request) -> str:
        return self._context(request).ip

    def cookie_name(self, request: Request) -> str:
        # __Host- binds the cookie to this exact origin over HTTPS (no Domain, Path=/, Secure)
        return "__Host-footfall" if self.secure(request) else "footfall"

    async def login_of(self, request: Request) -> Login | None:
        value = request.cookies.get(self.cookie_name(request), "")
        if not value:
            return None
        login: Login | None = await self.blocking(self.accounts.resume, value)
        return login

    async def require_login(self, request: Request) -> Login:
        login = await self.login_of(request)
        if login is None:
            raise LoginNeeded()
        return login

    def readable_app(self, login: Login, app_id: str) -> App:
        app = self.rt.apps.get(app_id)
        if app is None or not login.user.can_read(app.id):
            raise Problem(404, "There is no such app, or you may not see it.")
        return app

    @staticmethod
    def require_owner(login: Login) -> None:
        if not login.user.is_owner:
            raise Problem(403, "Only an owner may change this.")

    def set_session_cookie(self, request: Request, response: Response, value: str) -> None:
        response.set_cookie(
            self.cookie_name(request),
            value,
            max_age=SESSION_DAYS * 86_400,
            path="/",
            secure=self.secure(request),
            httponly=True,
            samesite="lax",
        )

    def clear_session_cookie(self, request: Request, response: Response) -> None:
        response.delete_cookie(
            self.cookie_name(request),
            path="/",
            secure=self.secure(request),
            httponly=True,
            samesite="lax",
        )

    # -- forms and CSRF ----------------------------------------------------------------------
    async def form(self, request: Request) -> dict[str, list[str]]:
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if not kind and request.headers.get("content-length", "0") == "0":
            return {}  # an empty POST: an empty form (whose missing token is refused)
        if kind != "application/x-www-form-urlencoded":
            raise Problem(400, "Forms must be sent as application/x-www-form-urlencoded.")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_FORM:
                raise Problem(413, "The form is too large.")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise Problem(400, "The form is not UTF-8.") from None
        return parse_qs(text, keep_blank_values=True, max_num_fields=200)

    def check_origin(self, request: Request) -> None:
        """A cross-site POST is refused whatever its token (browsers send Origin on POST). Behind a
        trusted proxy the public host may arrive as X-Forwarded-Host."""
        origin = request.headers.get("origin")
        if not origin or origin == "null":
            return
        hosts = {request.headers.get("host", "")}
        peer = request.client.host if request.client else ""
        if self.rt.resolver.trusted and peer and is_trusted(peer, self.rt.resolver.trusted):
            forwarded = request.headers.get("x-forwarded-host", "")
            hosts |= {h.strip() for h in forwarded.split(",") if h.strip()}
        if origin.split("://", 1)[-1] not in hosts:
            raise Problem(403, "This form was sent from another site.")

    async def checked_form(self, request: Request, login: Login) -> dict[str, list[str]]:
        """The form of a state-changing POST, after checking its CSRF token against the session."""
        self.check_origin(request)
        form = await self.form(request)
        token = first(form, "csrf")
        if not hmac.compare_digest(token.encode(), login.session.csrf.encode()):
            raise Problem(403, "The form expired or did not come from this dashboard; reload it.")
        return form

    # -- responses ---------------------------------------------------------------------------
    def render(
        self, request: Request, template: str, /, status: int = 200, **context: Any
    ) -> HTMLResponse:
        login = context.get("login")
        context.setdefault("csrf", login.session.csrf if login else "")
        context.setdefault("path", request.url.path)
        context.setdefault("realtime_seconds", self.realtime_seconds)
        context.setdefault("assets", self.assets.version)
        html = self.templates.get_template(template).render(**context)
        return HTMLResponse(html, status_code=status)

    def page(self, endpoint: Endpoint, *, json: bool = False) -> Endpoint:
        async def wrapped(request: Request) -> Response:
            try:
                response = await endpoint(request)
            except LoginNeeded:
                if json:
                    response = JSONResponse({"error": "log in first"}, status_code=401)
                else:
                    target = request.url.path + (
                        "?" + request.url.query if request.url.query else ""
                    )
                    response = RedirectResponse(f"/login?next={quote(target, safe='')}", 303)
            except Problem as exc:
                if json:
                    response = JSONResponse({"error": exc.message}, status_code=exc.status)
                else:
                    response = self.render(
                        request, "error.html", status=exc.status, message=exc.message
                    )
            except StoreOutOfMemory as exc:
                if json:
                    response = JSONResponse({"error": str(exc)}, status_code=503)
                else:
                    response = self.render(request, "error.html", status=503, message=str(exc))
            except Exception:  # never a traceback, never a response without the headers
                log.exception("dashboard: %s %s failed", request.method, request.url.path)
                if json:
                    response = JSONResponse({"error": "internal error"}, status_code=500)
                else:
                    response = self.render(
                        request, "error.html", status=500, message="Something went wrong."
                    )
            for key, value in SECURITY_HEADERS.items():
                response.headers.setdefault(key, value)
            return response

        return wrapped

    async def blocking(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run store/query work off the event loop."""
        return await run_in_threadpool(fn, *args)


def is_trusted(address: str, networks: tuple[Any, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def first(form: dict[str, list[str]], name: str, default: str = "") -> str:
    values = form.get(name)
    return values[0] if values else default


def new_token() -> str:
    return secrets.token_urlsafe(24)


def format_number(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    n = int(value)  # type: ignore[call-overload]
    if abs(n) >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if abs(n) >= 10_000:
        return f"{n / 1000:.1f}k"
    return f"{n:,}"


def format_duration(value: object) -> str:
    if value is None:
        return "–"
    seconds = int(value)  # type: ignore[call-overload]
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"
