"""Everyone changes their own password: the current one first, the rule on the form, and the
other sessions end."""

from __future__ import annotations

import httpx

from footfall.model import User
from tests.dashboard.helpers import PASSWORD, csrf, log_in
from tests.live import LiveServer

NEW = "a brand new passphrase"


def change(http: httpx.Client, current: str, new: str, again: str | None = None) -> httpx.Response:
    return http.post(
        "/account/password",
        data={
            "csrf": csrf(http, "/account"),
            "current": current,
            "new": new,
            "again": new if again is None else again,
        },
    )


def test_the_form_tells_the_rule(owner_http: httpx.Client) -> None:
    page = owner_http.get("/account")
    assert page.status_code == 200 and "At least 10 characters." in page.text


def test_a_wrong_current_password_a_mismatch_or_a_short_one_change_nothing(
    server: LiveServer, owner: User, owner_http: httpx.Client
) -> None:
    wrong = change(owner_http, "not my password", NEW)
    assert wrong.status_code == 400 and "current password is not right" in wrong.text
    differ = change(owner_http, PASSWORD, NEW, NEW + "!")
    assert differ.status_code == 400 and "differ" in differ.text
    short = change(owner_http, PASSWORD, "short")
    assert short.status_code == 400 and "at least 10 characters" in short.text
    assert server.store.get_user(owner.id).password_hash == owner.password_hash
    with httpx.Client(base_url=server.url) as other:
        assert log_in(other, owner.email).status_code == 303


def test_a_change_keeps_this_session_and_ends_the_others(
    server: LiveServer, owner: User, owner_http: httpx.Client
) -> None:
    with httpx.Client(base_url=server.url) as laptop:
        assert log_in(laptop, owner.email).status_code == 303
        done = change(owner_http, PASSWORD, NEW)
        assert done.status_code == 303 and done.headers["location"] == "/account?done=password"
        assert "Your password is changed" in owner_http.get(done.headers["location"]).text
        assert laptop.get("/apps").status_code == 303  # logged out
    with httpx.Client(base_url=server.url) as fresh:
        assert log_in(fresh, owner.email, PASSWORD).status_code == 401
        assert log_in(fresh, owner.email, NEW).status_code == 303


def test_wrong_current_passwords_count_toward_the_throttle(
    server: LiveServer, owner: User, owner_http: httpx.Client
) -> None:
    for _ in range(5):
        assert change(owner_http, "not my password", NEW).status_code == 400
    held = change(owner_http, PASSWORD, NEW)
    assert held.status_code == 429 and "retry-after" in held.headers


def test_the_change_needs_the_csrf_token_and_a_login(
    server: LiveServer, owner_http: httpx.Client, http: httpx.Client
) -> None:
    form = {"current": PASSWORD, "new": NEW, "again": NEW}
    assert owner_http.post("/account/password", data=form).status_code == 403
    assert http.post("/account/password", data=form).headers["location"].startswith("/login")
    assert http.get("/account").status_code == 303
