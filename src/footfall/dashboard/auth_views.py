"""GET/POST /login and POST /logout."""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from footfall.dashboard.site import Dashboard, first, new_token, safe_next

PRE_COOKIE = (
    "footfall_login"  # login-form CSRF: a double-submit token set before any session exists
)


class AuthViews:
    def __init__(self, d: Dashboard) -> None:
        self.d = d

    def _pre_cookie(self, request: Request) -> str:
        return ("__Host-" if self.d.secure(request) else "") + PRE_COOKIE

    async def _form(
        self, request: Request, *, status: int = 200, error: str = "", email: str = ""
    ) -> Response:
        token = new_token()
        response = self.d.render(
            request,
            "login.html",
            status=status,
            login=None,
            error=error,
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
        return await self._form(request)  # also when logged in: logging in again switches user

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
        keys = ("ip:" + d.client_ip(request), "account:" + email)
        wait = d.throttle.wait_seconds(*keys)
        if wait:
            response = await self._form(
                request,
                status=429,
                email=email,
                error=f"Too many attempts. Try again in {wait} seconds.",
            )
            response.headers["retry-after"] = str(wait)
            return response
        user = await d.blocking(d.accounts.authenticate, email, first(form, "password"))
        if user is None:
            d.throttle.fail(*keys)
            return await self._form(
                request, status=401, email=email, error="Wrong email or password."
            )
        d.throttle.reset(keys[1])
        old = request.cookies.get(d.cookie_name(request), "")
        if old:  # never keep a session id from before the login
            await d.blocking(d.accounts.end_session, old)
        cookie_value, _ = await d.blocking(d.accounts.start_session, user)
        response = RedirectResponse(safe_next(first(form, "next")), 303)
        d.set_session_cookie(request, response, cookie_value)
        response.delete_cookie(self._pre_cookie(request), path="/", secure=d.secure(request))
        return response

    async def logout(self, request: Request) -> Response:
        d = self.d
        login = await d.require_login(request)
        await d.checked_form(request, login)
        await d.blocking(d.accounts.end_session, request.cookies.get(d.cookie_name(request), ""))
        response = RedirectResponse("/login", 303)
        d.clear_session_cookie(request, response)
        return response
