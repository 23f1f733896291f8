"""The owners' users page (GET /users; POST /users/invite, /users/access, /users/remove,
/users/revoke) and the invitation link (GET/POST /invite/{token})."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from footfall.dashboard.accounts import PASSWORD_RULE, AccountError, Login
from footfall.dashboard.people import INVITE_HOURS
from footfall.dashboard.site import Dashboard, Problem, first, is_trusted

GONE = "This invitation has expired or was used already. Ask an owner for a new one."


class UsersViews:
    def __init__(self, d: Dashboard) -> None:
        self.d = d

    async def _owner(self, request: Request) -> Login:
        login = await self.d.require_login(request)
        self.d.require_owner(login)
        return login

    async def _page(
        self, request: Request, login: Login, *, status: int = 200, **context: Any
    ) -> Response:
        d = self.d
        users = await d.blocking(d.accounts.store.list_users)
        invites = await d.blocking(d.accounts.store.list_invites, d.clock.now_ms())
        return d.render(
            request,
            "users.html",
            status=status,
            login=login,
            users=users,
            invites=invites,
            apps=d.rt.apps.all(),
            app_names={a.id: a.name for a in d.rt.apps.all()},
            invite_hours=INVITE_HOURS,
            saved=request.query_params.get("saved", ""),
            **context,
        )

    def _apps(self, form: dict[str, list[str]]) -> list[str]:
        chosen = form.get("apps", [])
        for app_id in chosen:
            if self.d.rt.apps.get(app_id) is None:
                raise AccountError("There is no such app.")
        return chosen

    def _origin(self, request: Request) -> str:
        """The address people reach the dashboard at, for the invitation link."""
        host = request.headers.get("host", "")
        peer = request.client.host if request.client else ""
        trusted = self.d.rt.resolver.trusted
        if trusted and peer and is_trusted(peer, trusted):
            host = request.headers.get("x-forwarded-host", host).split(",")[0].strip() or host
        return ("https" if self.d.secure(request) else "http") + "://" + host

    async def users_page(self, request: Request) -> Response:
        return await self._page(request, await self._owner(request))

    async def invite(self, request: Request) -> Response:
        d = self.d
        login = await self._owner(request)
        form = await d.checked_form(request, login)
        email = first(form, "email")[:254]
        try:
            apps = self._apps(form)
            token, invite = await d.blocking(
                d.people.invite, login.user, email, first(form, "role"), apps
            )
        except AccountError as exc:
            return await self._page(
                request, login, status=400, invite_error=str(exc), invite_email=email
            )
        link = f"{self._origin(request)}/invite/{token}"
        return await self._page(request, login, invite_link=link, invited=invite)

    async def access(self, request: Request) -> Response:
        d = self.d
        login = await self._owner(request)
        form = await d.checked_form(request, login)
        user_id = first(form, "user_id")
        try:
            apps = self._apps(form)
            await d.blocking(d.people.set_access, login.user, user_id, first(form, "role"), apps)
        except AccountError as exc:
            return await self._page(request, login, status=400, error=str(exc))
        return RedirectResponse(f"/users?saved={quote(user_id, safe='')}", 303)

    async def remove(self, request: Request) -> Response:
        d = self.d
        login = await self._owner(request)
        form = await d.checked_form(request, login)
        try:
            await d.blocking(d.people.remove, login.user, first(form, "user_id"))
        except AccountError as exc:
            return await self._page(request, login, status=400, error=str(exc))
        return RedirectResponse("/users", 303)

    async def revoke(self, request: Request) -> Response:
        d = self.d
        login = await self._owner(request)
        form = await d.checked_form(request, login)
        await d.blocking(d.accounts.store.delete_invite, first(form, "invite_id"))
        return RedirectResponse("/users", 303)

    # -- the invitee ------------------------------------------------------------------------
    async def invitation(self, request: Request) -> Response:
        d = self.d
        token = request.path_params["token"]
        invite = await d.blocking(d.people.invite_of, token)
        if invite is None:
            raise Problem(404, GONE)
        error = ""
        status = 200
        if request.method == "POST":
            d.check_origin(request)  # the link's own token (in the path) is the form's token
            form = await d.form(request)
            try:
                user = await d.blocking(
                    d.people.accept, token, first(form, "password"), first(form, "again")
                )
            except AccountError as exc:
                error, status = str(exc), 400
            else:
                target = f"/login?notice=joined&email={quote(user.email, safe='')}"
                return RedirectResponse(target, 303)
        return d.render(
            request,
            "invite.html",
            status=status,
            login=None,
            invite=invite,
            error=error,
            password_rule=PASSWORD_RULE,
        )
