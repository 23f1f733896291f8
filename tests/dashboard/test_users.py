"""The owners' users page over HTTP: one-time, expiring invitation links (only their hash
stored), roles and apps per user, removal, and the rules that keep the last owner."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import httpx

from footfall.clock import FrozenClock
from footfall.model import App, User
from tests.dashboard.helpers import PASSWORD, csrf, log_in
from tests.live import LiveServer

NEW_PASSWORD = "my own password, 10+"


def invite(http: httpx.Client, email: str, role: str = "viewer", *apps: App) -> httpx.Response:
    return http.post(
        "/users/invite",
        data={
            "csrf": csrf(http, "/users"),
            "email": email,
            "role": role,
            "apps": [a.id for a in apps],
        },
    )


def link_in(page: httpx.Response) -> str:
    match = re.search(r'<pre class="code" id="invite-link">([^<]+)</pre>', page.text)
    assert page.status_code == 200 and match, page.text
    return match.group(1)


def accept(
    server: LiveServer, link: str, password: str, again: str | None = None
) -> httpx.Response:
    path = link.split("://", 1)[1].split("/", 1)[1]
    with httpx.Client(base_url=server.url) as browser:
        return browser.post(
            "/" + path, data={"password": password, "again": password if again is None else again}
        )


def test_viewers_may_not_see_or_use_the_users_page(
    server: LiveServer, viewer_of: Any, app: App
) -> None:
    viewer = viewer_of(app)
    with httpx.Client(base_url=server.url) as http:
        log_in(http, viewer.email)
        assert http.get("/users").status_code == 403
        form = {"csrf": csrf(http, "/account"), "email": "x@example.com", "role": "owner"}
        assert http.post("/users/invite", data=form).status_code == 403
        assert 'href="/users"' not in http.get("/apps").text
    assert server.store.list_invites(0) == []


def test_an_invitation_link_works_once_and_only_its_hash_is_stored(
    server: LiveServer, app: App, owner_http: httpx.Client
) -> None:
    page = invite(owner_http, "New@Example.com", "viewer", app)
    link = link_in(page)
    assert link.startswith(server.url + "/invite/")
    token = link.rsplit("/", 1)[1]
    (stored,) = server.store.list_invites(0)
    assert stored.email == "new@example.com" and stored.apps == [app.id]
    assert stored.key == hashlib.sha256(token.encode()).hexdigest()
    assert not server.rows("SELECT 1 FROM invites WHERE key = ? OR id = ?", [token, token])
    assert token not in owner_http.get("/users").text  # shown once
    with httpx.Client(base_url=server.url) as browser:
        shown = browser.get(f"/invite/{token}")
        assert shown.status_code == 200 and "new@example.com" in shown.text
        assert "At least 10 characters." in shown.text
    short = accept(server, link, "short")
    assert short.status_code == 400 and "at least 10 characters" in short.text
    assert accept(server, link, NEW_PASSWORD, "something else").status_code == 400
    done = accept(server, link, NEW_PASSWORD)  # the link survived the bad tries
    assert done.status_code == 303
    assert done.headers["location"] == "/login?notice=joined&email=new%40example.com"
    user = server.store.get_user_by_email("new@example.com")
    assert user is not None and user.role == "viewer" and user.apps == [app.id]
    assert accept(server, link, NEW_PASSWORD).status_code == 404  # once only
    with httpx.Client(base_url=server.url) as browser:
        assert browser.get(f"/invite/{token}").status_code == 404
        assert log_in(browser, "new@example.com", NEW_PASSWORD).status_code == 303
        assert browser.get(f"/apps/{app.id}").status_code == 200


def test_an_invitation_expires_after_72_hours_or_when_revoked(
    server: LiveServer, clock: FrozenClock, owner_http: httpx.Client
) -> None:
    late = link_in(invite(owner_http, "late@example.com"))
    clock.advance(hours=72)
    assert accept(server, late, NEW_PASSWORD).status_code == 404
    assert server.store.get_user_by_email("late@example.com") is None
    revoked = link_in(invite(owner_http, "gone@example.com"))
    (open_invite,) = server.store.list_invites(clock.now_ms())
    resp = owner_http.post(
        "/users/revoke", data={"csrf": csrf(owner_http, "/users"), "invite_id": open_invite.id}
    )
    assert resp.status_code == 303
    assert accept(server, revoked, NEW_PASSWORD).status_code == 404


def test_a_second_invitation_of_an_email_replaces_the_first(
    server: LiveServer, owner_http: httpx.Client
) -> None:
    first = link_in(invite(owner_http, "twice@example.com"))
    second = link_in(invite(owner_http, "twice@example.com", "owner"))
    assert accept(server, first, NEW_PASSWORD).status_code == 404
    assert accept(server, second, NEW_PASSWORD).status_code == 303
    assert server.store.get_user_by_email("twice@example.com").role == "owner"  # type: ignore[union-attr]


def test_bad_invitations_are_form_errors(
    server: LiveServer, owner: User, owner_http: httpx.Client
) -> None:
    for email, role, apps, reason in [
        (owner.email, "viewer", ["x"], "no such app"),
        (owner.email, "viewer", [], "has an account already"),
        ("not an email", "viewer", [], "not an email address"),
        ("a@example.com", "root", [], "unknown role"),
    ]:
        resp = owner_http.post(
            "/users/invite",
            data={"csrf": csrf(owner_http, "/users"), "email": email, "role": role, "apps": apps},
        )
        assert resp.status_code == 400 and reason in resp.text, reason
    assert server.store.list_invites(0) == []
    assert owner_http.post("/users/invite", data={"email": "a@example.com"}).status_code == 403


def test_an_owner_changes_roles_and_apps_per_user(
    server: LiveServer, app: App, viewer_of: Any, owner_http: httpx.Client
) -> None:
    other = server.create_app(name="Other")
    viewer = viewer_of(app)
    with httpx.Client(base_url=server.url) as viewer_http:
        log_in(viewer_http, viewer.email)
        assert viewer_http.get(f"/apps/{other.id}").status_code == 404

        def access(role: str, *apps: App) -> httpx.Response:
            return owner_http.post(
                "/users/access",
                data={
                    "csrf": csrf(owner_http, "/users"),
                    "user_id": viewer.id,
                    "role": role,
                    "apps": [a.id for a in apps],
                },
            )

        assert access("viewer", other).status_code == 303
        assert viewer_http.get(f"/apps/{other.id}").status_code == 200
        assert viewer_http.get(f"/apps/{app.id}").status_code == 404
        assert access("owner").status_code == 303
        assert viewer_http.get("/users").status_code == 200
        assert server.store.get_user(viewer.id).role == "owner"  # type: ignore[union-attr]
        assert access("viewer").status_code == 303
        assert viewer_http.get("/users").status_code == 403
        assert access("viewer", App(id="not-an-app", name="x")).status_code == 400
        assert access("superuser").status_code == 400


def test_an_owner_cannot_demote_or_remove_themself(
    server: LiveServer, owner: User, accounts: Any, owner_http: httpx.Client
) -> None:
    token = csrf(owner_http, "/users")
    demote = owner_http.post(
        "/users/access", data={"csrf": token, "user_id": owner.id, "role": "viewer"}
    )
    assert demote.status_code == 400 and "your own owner role" in demote.text
    remove = owner_http.post("/users/remove", data={"csrf": token, "user_id": owner.id})
    assert remove.status_code == 400 and "cannot remove yourself" in remove.text
    assert server.store.get_user(owner.id).role == "owner"  # type: ignore[union-attr]
    second = accounts.create_user("second@example.com", PASSWORD, role="owner")
    with httpx.Client(base_url=server.url) as http:  # another owner may
        log_in(http, second.email)
        t = csrf(http, "/users")
        assert (
            http.post(
                "/users/access", data={"csrf": t, "user_id": owner.id, "role": "viewer"}
            ).status_code
            == 303
        )
        # …but then the last owner is themself: no way to leave no owner
        last = http.post("/users/access", data={"csrf": t, "user_id": second.id, "role": "viewer"})
        assert last.status_code == 400


def test_removing_a_user_ends_their_sessions(
    server: LiveServer, app: App, viewer_of: Any, owner_http: httpx.Client
) -> None:
    viewer = viewer_of(app)
    with httpx.Client(base_url=server.url) as viewer_http:
        log_in(viewer_http, viewer.email)
        assert viewer_http.get("/apps").status_code == 200
        no_token = owner_http.post("/users/remove", data={"user_id": viewer.id})
        assert no_token.status_code == 403
        cross_site = owner_http.post(
            "/users/remove",
            data={"csrf": csrf(owner_http, "/users"), "user_id": viewer.id},
            headers={"Origin": "https://evil.example"},
        )
        assert cross_site.status_code == 403 and server.store.get_user(viewer.id) is not None
        resp = owner_http.post(
            "/users/remove", data={"csrf": csrf(owner_http, "/users"), "user_id": viewer.id}
        )
        assert resp.status_code == 303 and server.store.get_user(viewer.id) is None
        assert viewer_http.get("/apps").status_code == 303
    missing = owner_http.post(
        "/users/remove", data={"csrf": csrf(owner_http, "/users"), "user_id": viewer.id}
    )
    assert missing.status_code == 400 and "no such user" in missing.text


def test_accepting_an_invitation_from_another_site_is_refused(
    server: LiveServer, owner_http: httpx.Client
) -> None:
    link = link_in(invite(owner_http, "victim@example.com"))
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]
    with httpx.Client(base_url=server.url) as browser:
        resp = browser.post(
            path,
            data={"password": NEW_PASSWORD, "again": NEW_PASSWORD},
            headers={"Origin": "https://evil.example"},
        )
    assert resp.status_code == 403
    assert server.store.get_user_by_email("victim@example.com") is None
