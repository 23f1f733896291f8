"""GET/POST /login, GET/POST /login/code (the two-factor step) and POST /logout."""

from __future__ import annotations

import hmac
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from footfall.dashboard.accounts import PENDING_MINUTES, Login
from footfall.dashboard.site import Dashboard, first, new_token, safe_next
from footfall.model import User

PRE_COOKIE = (
    "footfall_login"  # login-form CSRF: a double-submit token set before any session exists
)
PENDING_COOKIE = "footfall_2fa"  # a session that has had the password and waits for the code


class AuthViews:
    def __init__(self, d: Dashboard) -> None:
        self.d = d

    def _pre_cookie(self, request: Request) -> str:
        return ("__Host-" if self.d.secure(request) else "") + PRE_COOKIE

    def _pending_cookie(self, request: Request) -> str:
        return ("__Host-" if self.d.secure(request) else "") + PENDING_COOKIE

    async def _form(
        self,
        request: Request,
        *,
        status: int = 200,
        error: str = "",
        email: str = "",
        notice: str = "",
    ) -> Response:
        token = new_token()
        response = self.d.render(
            request,
            "login.html",
            status=status,
            login=None,
            error=error,
            notice=notice,
            email=email,
            login_token=token,
            next=safe_next(request.query_params.get("next")),
            no_users=not await self.d.blocking(self.d.accounts.has_users),
        )
        response.set_cookie(
            self._pre_cookie(request),
            token,
            max_age=3600,
            path="/",
            secure=self.d.secure(request),
            httponly=True,
            samesite="strict",
        )
        return response

    async def login_page(self, request: Request) -> Response:
        # also when logged in: logging in again switches user
        notices = {
            "joined": "Your account is ready: log in with your email and new password.",
            "expired": "The login took too long; start again.",
        }
        return await self._form(
            request,
            email=request.query_params.get("email", "")[:254],
            notice=notices.get(request.query_params.get("notice", ""), ""),
        )

    def _too_many(self, response: Response, wait: int) -> Response:
        response.headers["retry-after"] = str(wait)
        return response

    async def login(self, request: Request) -> Response:
        d = self.d
        d.check_origin(request)
        form = await d.form(request)
        email = first(form, "email").strip().lower()[:254]
        sent = first(form, "token").encode()
        expected = request.cookies.get(self._pre_cookie(request), "").encode()
        if not expected or not hmac.compare_digest(sent, expected):
            return await self._form(
                request, status=403, email=email, error="The form expired. Please try again."
            )
        ip = d.client_ip(request)
        wait = d.throttle.wait_seconds(email, ip)
        if wait:
            error = f"Too many attempts. Try again in {wait} seconds."
            page = await self._form(request, status=429, email=email, error=error)
            return self._too_many(page, wait)
        user = await d.blocking(d.accounts.authenticate, email, first(form, "password"))
        if user is None:
            d.throttle.failed(email, ip)
            return await self._form(
                request, status=401, email=email, error="Wrong email or password."
            )
        target = safe_next(first(form, "next"))
        if user.totp_secret:  # the code comes next, on a session that can do nothing else
            cookie_value, _ = await d.blocking(d.accounts.start_session, user, True)
            response = RedirectResponse(f"/login/code?next={quote(target, safe='')}", 303)
            response.set_cookie(
                self._pending_cookie(request),
                cookie_value,
                max_age=PENDING_MINUTES * 60,
                path="/",
                secure=d.secure(request),
                httponly=True,
                samesite="strict",
            )
            response.delete_cookie(self._pre_cookie(request), path="/", secure=d.secure(request))
            return response
        d.throttle.succeeded(email, ip)
        return await self._logged_in(request, user, target)

    async def _logged_in(self, request: Request, user: User, target: str) -> Response:
        d = self.d
        old = request.cookies.get(d.cookie_name(request), "")
        if old:  # never keep a session id from before the login
            await d.blocking(d.accounts.end_session, old)
        cookie_value, _ = await d.blocking(d.accounts.start_session, user)
        response = RedirectResponse(target, 303)
        d.set_session_cookie(request, response, cookie_value)
        for name in (self._pre_cookie(request), self._pending_cookie(request)):
            response.delete_cookie(name, path="/", secure=d.secure(request))
        return response

    # -- the two-factor step -----------------------------------------------------------------
    async def _pending(self, request: Request) -> Login | None:
        value = request.cookies.get(self._pending_cookie(request), "")
        login: Login | None = await self.d.blocking(self.d.accounts.resume, value, True)
        return login

    def _code_form(
        self, request: Request, pending: Login, *, status: int = 200, error: str = ""
    ) -> Response:
        return self.d.render(
            request,
            "login_code.html",
            status=status,
            login=None,
            csrf=pending.session.csrf,
            error=error,
            next=safe_next(request.query_params.get("next")),
        )

    async def code_page(self, request: Request) -> Response:
        pending = await self._pending(request)
        if pending is None:
            return RedirectResponse("/login?notice=expired", 303)
        return self._code_form(request, pending)

    async def code(self, request: Request) -> Response:
        d = self.d
        d.check_origin(request)
        form = await d.form(request)
        pending = await self._pending(request)
        if pending is None:
            return RedirectResponse("/login?notice=expired", 303)
        sent = first(form, "csrf").encode()
        if not hmac.compare_digest(sent, pending.session.csrf.encode()):
            return self._code_form(
                request, pending, status=403, error="The form expired. Please try again."
            )
        email, ip = pending.user.email, d.client_ip(request)
        wait = d.throttle.wait_seconds(email, ip)
        if wait:
            error = f"Too many attempts. Try again in {wait} seconds."
            return self._too_many(self._code_form(request, pending, status=429, error=error), wait)
        if not await d.blocking(d.accounts.second_factor, pending.user, first(form, "code")):
            d.throttle.failed(email, ip)
            return self._code_form(request, pending, status=401, error="That code is not right.")
        d.throttle.succeeded(email, ip)
        await d.blocking(d.accounts.store.delete_login_session, pending.session.key)
        return await self._logged_in(request, pending.user, safe_next(first(form, "next")))

    async def logout(self, request: Request) -> Response:
        d = self.d
        login = await d.require_login(request)
        await d.checked_form(request, login)
        await d.blocking(d.accounts.end_session, request.cookies.get(d.cookie_name(request), ""))
        response = RedirectResponse("/login", 303)
        d.clear_session_cookie(request, response)
        return response
