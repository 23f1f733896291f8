"""What the Stats and export APIs share: the API key a request carries, the site it asks for,
and the JSON error they answer with."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from footfall.keys import KeyRing
from footfall.model import ApiKey, App
from footfall.runtime import Runtime


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error_json(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


class ApiAccess:
    """Bearer API keys (``footfall keys create``) and the ``site_id`` they may read."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.keys = KeyRing(rt.store, rt.clock)

    def authorise(self, request: Request) -> ApiKey:
        header = request.headers.get("authorization", "")
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise ApiError(
                401, "missing API key: send Authorization: Bearer <key> (footfall keys create)"
            )
        key = self.keys.check(secret.strip())
        if key is None:
            raise ApiError(401, "invalid API key")
        return key

    def site(self, request: Request, key: ApiKey) -> App:
        return self.site_named(request.query_params.get("site_id", ""), key)

    def site_named(self, site_id: str, key: ApiKey) -> App:
        """The app ``site_id`` names (its UUID, an alias or its domain), if the key may read it."""
        site_id = site_id.strip()
        if not site_id:
            raise ApiError(400, "site_id: required (the app's UUID or domain)")
        app = self.rt.apps.resolve(site_id)
        if app is None:
            raise ApiError(400 if key.app_id is None else 401, f"site_id: no site {site_id!r}")
        if not KeyRing.may_read(key, app.id):
            raise ApiError(401, "this API key may not read that site")
        return app
