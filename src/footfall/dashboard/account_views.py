"""Everyone's own account: GET /account, POST /account/password and POST /account/two-factor
(start, enable, disable). Wrong passwords and codes count toward the login throttle."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from footfall.dashboard import twofactor
from footfall.dashboard.accounts import PASSWORD_RULE, AccountError, Login
from footfall.dashboard.site import Dashboard, first

DONE = {
    "password": "Your password is changed. Your other sessions have ended.",
    "two-factor-off": "Two-factor login is off.",
}


class AccountViews:
    def __init__(self, d: Dashboard) -> None:
        self.d = d

    async def _page(
        self, request: Request, login: Login, *, status: int = 200, **context: Any
    ) -> Response:
        d = self.d
        left = 0
        if login.user.totp_secret:
            left = await d.blocking(d.accounts.store.count_recovery_codes, login.user.id)
        context.setdefault("done", DONE.get(request.query_params.get("done", ""), ""))
        return d.render(
            request,
            "account.html",
            status=status,
            login=login,
            password_rule=PASSWORD_RULE,
            recovery_left=left,
            **context,
        )

    def _setup(self, login: Login, secret: str) -> dict[str, str]:
        uri = twofactor.provisioning_uri(secret, login.user.email)
        return {
            "secret": secret,
            "grouped": twofactor.grouped(secret),
            "qr": twofactor.qr_svg_data_uri(uri),
        }

    async def account_page(self, request: Request) -> Response:
        return await self._page(request, await self.d.require_login(request))

    def _throttled(self, request: Request, login: Login) -> int:
        return self.d.throttle.wait_seconds(login.user.email, self.d.client_ip(request))

    def _failed(self, request: Request, login: Login) -> None:
        self.d.throttle.failed(login.user.email, self.d.client_ip(request))

    async def password(self, request: Request) -> Response:
        d = self.d
        login = await d.require_login(request)
        form = await d.checked_form(request, login)
        wait = self._throttled(request, login)
        if wait:
            error = f"Too many attempts. Try again in {wait} seconds."
            page = await self._page(request, login, status=429, password_error=error)
            page.headers["retry-after"] = str(wait)
            return page
        try:
            await d.blocking(
                lambda: d.accounts.change_password(
                    login.user,
                    first(form, "current"),
                    first(form, "new"),
                    first(form, "again"),
                    keep_session=login.session.key,
                )
            )
        except AccountError as exc:
            if "current password" in str(exc):
                self._failed(request, login)
            return await self._page(request, login, status=400, password_error=str(exc))
        return RedirectResponse("/account?done=password", 303)

    async def two_factor(self, request: Request) -> Response:
        d = self.d
        login = await d.require_login(request)
        form = await d.checked_form(request, login)
        action = first(form, "action")
        if action == "start":
            if login.user.totp_secret:
                return await self._page(
                    request, login, status=400, tf_error="Two-factor login is on already."
                )
            return await self._page(
                request, login, setup=self._setup(login, twofactor.new_secret())
            )
        if action not in ("enable", "disable"):
            return await self._page(request, login, status=400, tf_error="Unknown action.")
        wait = self._throttled(request, login)
        if wait:
            error = f"Too many attempts. Try again in {wait} seconds."
            page = await self._page(request, login, status=429, tf_error=error)
            page.headers["retry-after"] = str(wait)
            return page
        code = first(form, "code")
        if action == "enable":
            secret = first(form, "secret")
            try:
                _, codes = await d.blocking(d.accounts.enable_two_factor, login.user, secret, code)
            except AccountError as exc:
                self._failed(request, login)
                setup = self._setup(login, secret) if twofactor.valid_secret(secret) else None
                return await self._page(request, login, status=400, tf_error=str(exc), setup=setup)
            login = Login(await d.blocking(d.accounts.store.get_user, login.user.id), login.session)
            return await self._page(request, login, recovery_codes=codes)
        try:
            await d.blocking(
                d.accounts.disable_two_factor, login.user, first(form, "password"), code
            )
        except AccountError as exc:
            self._failed(request, login)
            return await self._page(request, login, status=400, tf_error=str(exc))
        return RedirectResponse("/account?done=two-factor-off", 303)
