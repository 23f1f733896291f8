"""Logging in: cookies, fresh session ids, equal answers for unknown users, CSRF, headers (throttling:
test_login_throttle.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from argon2 import PasswordHasher

from footfall.clock import FrozenClock
from footfall.dashboard.accounts import Accounts
from footfall.dashboard.site import DashboardOptions
from footfall.model import App, User
from footfall.store.duckdb import DuckDBStore
from tests.dashboard.conftest import CHEAP_ARGON2
from tests.dashboard.helpers import PASSWORD, csrf, hidden, log_in
from tests.live import LiveServer, live_server


def test_the_session_cookie_is_httponly_lax_and_new_at_every_login(
    server: LiveServer, owner: User, viewer_of: Any, http: httpx.Client
) -> None:
    http.cookies.set("footfall", "chosen-by-an-attacker", domain="127.0.0.1")
    resp = log_in(http, owner.email)
    assert resp.status_code == 303 and resp.headers["location"] == "/apps"
    header = next(h for h in resp.headers.get_list("set-cookie") if h.startswith("footfall="))
    parts = {p.strip().lower() for p in header.split(";")}
    assert {"httponly", "samesite=lax", "path=/"} <= parts
    assert "secure" not in parts  # plain HTTP: a Secure cookie would never come back
    first = http.cookies["footfall"]
    assert first != "chosen-by-an-attacker" and len(first) >= 40
    assert http.get("/apps").status_code == 200
    viewer = viewer_of()
    assert log_in(http, viewer.email).status_code == 303
    assert http.cookies["footfall"] != first  # a new id at every login…
    with httpx.Client(base_url=server.url, cookies={"footfall": first}) as old:
        assert old.get("/apps").status_code == 303  # …and the one it replaced is gone


def test_behind_https_the_cookie_is_secure_with_the_host_prefix(db_path: Path) -> None:
    with live_server(
        db_path,
        clock=FrozenClock(),
        trusted_proxies=("127.0.0.1",),
        dashboard=DashboardOptions(password_hasher=CHEAP_ARGON2),
    ) as srv:
        Accounts(srv.store, srv.clock, CHEAP_ARGON2).create_user(
            "o@example.com", PASSWORD, role="owner"
        )
        proxy = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
        with httpx.Client(base_url=srv.url, headers=proxy) as client:
            page = client.get("/login")
            # httpx keeps Secure cookies for https only: hand the login-form cookie back by hand
            client.cookies.set("__Host-footfall_login", page.cookies["__Host-footfall_login"])
            form = {"token": hidden(page.text, "token"), "email": "o@example.com"}
            # the browser's Origin is the public host, which the proxy passes as X-Forwarded-Host
            origin = {"Origin": "https://stats.example"}
            refused = client.post("/login", data={**form, "password": PASSWORD}, headers=origin)
            assert refused.status_code == 403 and "another site" in refused.text
            resp = client.post(
                "/login",
                data={**form, "password": PASSWORD},
                headers={**origin, "X-Forwarded-Host": "stats.example"},
            )
            assert resp.status_code == 303, resp.text
            header = next(
                h for h in resp.headers.get_list("set-cookie") if h.startswith("__Host-footfall=")
            )
            parts = {p.strip().lower() for p in header.split(";")}
            assert {"secure", "httponly", "samesite=lax", "path=/"} <= parts
            assert not any(p.startswith("domain") for p in parts)


def test_unknown_user_and_wrong_password_get_the_same_answer(
    server: LiveServer, owner: User, http: httpx.Client
) -> None:
    wrong = log_in(http, owner.email, "not the password")
    unknown = log_in(http, "nobody@example.com", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong email or password." in wrong.text and "Wrong email or password." in unknown.text
    assert wrong.text.replace(owner.email, "X").count("error") == unknown.text.count("error")
    assert "footfall" not in http.cookies


class CountingHasher(PasswordHasher):
    """argon2-cffi's hasher with the production costs, counting the checks it makes."""

    checks: list[str]

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        self.checks.append(str(hash).split("$")[3])  # the cost parameters m=…,t=…,p=…
        return super().verify(hash, password)


def test_an_unknown_user_costs_the_same_argon2_check_as_a_wrong_password(db_path: Path) -> None:
    store = DuckDBStore(str(db_path))
    try:
        hasher = CountingHasher()
        hasher.checks = []
        accounts = Accounts(store, FrozenClock(), hasher)
        user = accounts.create_user("o@example.com", PASSWORD, role="owner")
        assert user.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
        assert accounts.authenticate("o@example.com", "wrong password!") is None
        assert accounts.authenticate("nobody@example.com", "wrong password!") is None
        assert hasher.checks == ["m=65536,t=3,p=4"] * 2
    finally:
        store.close()


def test_the_login_form_needs_its_own_token(
    server: LiveServer, owner: User, http: httpx.Client
) -> None:
    resp = http.post("/login", data={"email": owner.email, "password": PASSWORD})
    assert resp.status_code == 403 and "footfall" not in http.cookies


def test_login_only_follows_same_site_next_paths(
    server: LiveServer, owner: User, http: httpx.Client
) -> None:
    page = http.get("/login", params={"next": "//evil.example/x"})
    assert 'name="next" value="/apps"' in page.text
    assert http.get("/apps/abc?period=7d").headers["location"] == (
        "/login?next=%2Fapps%2Fabc%3Fperiod%3D7d"
    )


@pytest.fixture
def new_app_token(owner_http: httpx.Client) -> Iterator[str]:
    yield csrf(owner_http)


def test_state_changing_posts_without_the_csrf_token_fail(
    server: LiveServer, app: App, owner_http: httpx.Client, new_app_token: str
) -> None:
    before = len(server.runtime.apps.all())
    assert owner_http.post("/apps/new", data={"name": "Evil"}).status_code == 403
    bad = owner_http.post("/apps/new", data={"name": "Evil", "csrf": "x" * 32})
    assert bad.status_code == 403 and "expired" in bad.text
    share = owner_http.post(f"/apps/{app.id}/share", data={"action": "enable"})
    assert share.status_code == 403
    cross_site = owner_http.post(
        "/apps/new",
        data={"name": "Evil", "csrf": new_app_token},
        headers={"Origin": "https://evil.example"},
    )
    assert cross_site.status_code == 403
    assert len(server.runtime.apps.all()) == before
    assert server.runtime.apps.get(app.id).public_token is None  # type: ignore[union-attr]
    ok = owner_http.post("/apps/new", data={"name": "Fine", "csrf": new_app_token})
    assert ok.status_code == 303 and len(server.runtime.apps.all()) == before + 1


def test_logout_needs_the_token_and_ends_the_session(
    server: LiveServer, owner_http: httpx.Client
) -> None:
    cookie = owner_http.cookies["footfall"]
    assert owner_http.post("/logout").status_code == 403
    assert owner_http.post("/logout", data={"csrf": csrf(owner_http)}).status_code == 303
    with httpx.Client(base_url=server.url, cookies={"footfall": cookie}) as old:
        assert old.get("/apps").status_code == 303


def test_every_dashboard_response_has_the_security_headers(
    server: LiveServer, app: App, owner_http: httpx.Client, http: httpx.Client
) -> None:
    responses = [
        http.get("/login"),
        http.get("/share/no-such-token"),
        owner_http.get("/apps"),
        owner_http.get(f"/apps/{app.id}"),
        owner_http.get(f"/apps/{app.id}/settings"),
        owner_http.get("/apps/not-an-app"),
        owner_http.get(f"/apps/{app.id}/realtime"),
    ]
    for resp in responses:
        csp = resp.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "style-src 'self'" in csp
        assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert resp.headers["x-content-type-options"] == "nosniff"
        assert resp.headers["referrer-policy"] == "same-origin"
    assert [r.status_code for r in responses] == [200, 404, 200, 200, 200, 404, 200]
    # …and the collect endpoints stay lean
    assert "content-security-policy" not in http.get(f"/p.gif?app={app.id}").headers
