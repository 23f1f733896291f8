"""App settings, roles and public links: owners change things, viewers and strangers only read."""

from __future__ import annotations

import re
from typing import Any

import httpx

from footfall.model import App
from tests.dashboard.helpers import csrf, log_in, metric, send_pageview, visitor
from tests.live import LiveServer

SETTINGS = {
    "name": "Renamed",
    "url": "https://renamed.example",
    "timezone": "Europe/Berlin",
    "identity": "cookieless",
    "dnt_action": "drop",
    "store_full_ip": "off",
    "exclude_ips": "10.0.0.0/8\n192.168.1.7",
    "exclude_paths": "/admin/**",
    "retention_days": "90",
    "aliases": "UA-1234-5\nG-ABCDEF",
    "require_api_key": "on",
}


def test_an_owner_changes_the_settings(
    server: LiveServer, app: App, owner_http: httpx.Client
) -> None:
    path = f"/apps/{app.id}/settings"
    resp = owner_http.post(path, data={**SETTINGS, "csrf": csrf(owner_http, path)})
    assert resp.status_code == 303 and resp.headers["location"] == path + "?saved=1"
    saved = server.runtime.apps.get(app.id)
    assert saved is not None
    assert (saved.name, saved.url, saved.timezone, saved.identity) == (
        "Renamed",
        "https://renamed.example",
        "Europe/Berlin",
        "cookieless",
    )
    assert saved.respect_dnt is False  # an unticked box is sent as nothing
    assert saved.dnt_action == "drop" and saved.store_full_ip is False
    assert saved.exclude_ips == ["10.0.0.0/8", "192.168.1.7/32"]
    assert saved.exclude_paths == ["/admin/**"] and saved.retention_days == 90
    assert saved.aliases == ["UA-1234-5", "G-ABCDEF"] and saved.require_api_key is True
    assert server.store.get_app(app.id) == saved  # in the store, not only in memory
    page = owner_http.get(path + "?saved=1").text
    assert "Saved." in page and "UA-1234-5\nG-ABCDEF</textarea>" in page


def test_bad_settings_are_refused_with_the_reason(
    server: LiveServer, app: App, owner_http: httpx.Client
) -> None:
    path = f"/apps/{app.id}/settings"
    token = csrf(owner_http, path)
    for change, reason in (
        ({"exclude_ips": "10.0.0.300"}, "is not an address or CIDR range"),
        ({"timezone": "Mars/Olympus"}, "Unknown time zone"),
        ({"retention_days": "-3"}, "Retention is a number of days"),
        ({"identity": "fingerprint"}, "Choose an identity mode"),
        ({"name": " "}, "needs a name"),
        ({"url": "ftp://files.example"}, "not a web address"),
    ):
        resp = owner_http.post(path, data={**SETTINGS, **change, "csrf": token})
        assert resp.status_code == 400 and reason in resp.text, change
    assert server.runtime.apps.get(app.id) == app


def test_a_new_api_secret_replaces_the_old_one(
    server: LiveServer, app: App, owner_http: httpx.Client
) -> None:
    path = f"/apps/{app.id}/settings"
    assert app.api_secret in owner_http.get(path).text
    resp = owner_http.post(f"/apps/{app.id}/secret", data={"csrf": csrf(owner_http, path)})
    assert resp.status_code == 303
    secret = server.runtime.apps.get(app.id).api_secret  # type: ignore[union-attr]
    assert secret and secret != app.api_secret and secret in owner_http.get(path).text


def test_a_viewer_reads_granted_apps_and_changes_nothing(
    server: LiveServer, app: App, viewer_of: Any, http: httpx.Client
) -> None:
    other = server.create_app("Other", "https://other.example")
    viewer = viewer_of(app)
    assert log_in(http, viewer.email).status_code == 303
    listing = http.get("/apps").text
    assert "Test site" in listing and "Other" not in listing and "/apps/new" not in listing
    page = http.get(f"/apps/{app.id}")
    assert page.status_code == 200 and "/settings" not in page.text
    assert http.get(f"/apps/{other.id}").status_code == 404
    assert http.get(f"/apps/{other.id}/realtime").status_code == 404
    token = csrf(http)
    assert http.get(f"/apps/{app.id}/settings").status_code == 403
    denied = http.post(f"/apps/{app.id}/settings", data={**SETTINGS, "csrf": token})
    assert denied.status_code == 403 and "Only an owner" in denied.text
    assert (
        http.post(f"/apps/{app.id}/share", data={"action": "enable", "csrf": token}).status_code
        == 403
    )
    assert http.post("/apps/new", data={"name": "Mine", "csrf": token}).status_code == 403
    assert server.runtime.apps.get(app.id) == app and len(server.runtime.apps.all()) == 2


def test_a_public_link_is_off_by_default_read_only_and_revocable(
    server: LiveServer, app: App, owner_http: httpx.Client, http: httpx.Client
) -> None:
    with visitor(server) as client:
        send_pageview(client, app.id, "/shared")
    server.flush()
    assert app.public_token is None
    path = f"/apps/{app.id}/settings"
    owner_http.post(
        f"/apps/{app.id}/share", data={"action": "enable", "csrf": csrf(owner_http, path)}
    )
    token = server.runtime.apps.get(app.id).public_token  # type: ignore[union-attr]
    assert token and len(token) >= 32
    assert f"/share/{token}" in owner_http.get(path).text

    public = http.get(f"/share/{token}", params={"period": "day"})
    assert public.status_code == 200 and metric(public.text, "visitors") == "1"
    assert "/shared" in public.text
    assert '<form method="post"' not in public.text and "/settings" not in public.text
    assert "csrf" not in public.text and public.headers["x-robots-tag"] == "noindex"
    assert http.get(f"/share/{token}/realtime").json() == {"visitors": 1}
    assert http.get(f"/apps/{app.id}").status_code == 303  # the token opens only /share
    filtered = http.get(f"/share/{token}", params={"f": "event:page==/nothing"})
    assert filtered.status_code == 200 and metric(filtered.text, "visitors") == "0"

    owner_http.post(
        f"/apps/{app.id}/share", data={"action": "revoke", "csrf": csrf(owner_http, path)}
    )
    assert server.runtime.apps.get(app.id).public_token is None  # type: ignore[union-attr]
    assert http.get(f"/share/{token}").status_code == 404
    assert http.get(f"/share/{token}/realtime").status_code == 404
    owner_http.post(
        f"/apps/{app.id}/share", data={"action": "enable", "csrf": csrf(owner_http, path)}
    )
    assert http.get(f"/share/{token}").status_code == 404  # a new link, never the old one again


def test_stats_api_keys_are_shown_once_and_can_be_revoked(
    server: LiveServer, app: App, owner_http: httpx.Client, http: httpx.Client
) -> None:
    path = f"/apps/{app.id}/settings"
    made = owner_http.post(
        f"/apps/{app.id}/keys",
        data={"action": "create", "name": "<i>reports</i>", "csrf": csrf(owner_http, path)},
    )
    assert made.status_code == 200
    secret = re.search(r'<pre class="code" id="new-key">(ff_[^<]+)</pre>', made.text)
    assert secret, made.text
    api = f"/api/v1/stats/realtime/visitors?site_id={app.id}"
    auth = {"Authorization": f"Bearer {secret.group(1)}"}
    assert http.get(api, headers=auth).status_code == 200  # the key works
    page = owner_http.get(path).text
    assert secret.group(1) not in page  # shown once only
    assert "&lt;i&gt;reports&lt;/i&gt;" in page and "active" in page
    key_id = secret.group(1).split("_")[1]
    other = server.create_app("Other", "https://other.example")
    wrong_app = owner_http.post(
        f"/apps/{other.id}/keys",
        data={"action": "revoke", "key_id": key_id, "csrf": csrf(owner_http, path)},
    )
    assert wrong_app.status_code == 404  # a key is revoked through its own app only
    revoked = owner_http.post(
        f"/apps/{app.id}/keys",
        data={"action": "revoke", "key_id": key_id, "csrf": csrf(owner_http, path)},
    )
    assert revoked.status_code == 303
    assert http.get(api, headers=auth).status_code == 401
    assert "revoked" in owner_http.get(path).text


def test_cookie_identity_on_another_host_than_footfall_is_warned_about(
    server: LiveServer, owner_http: httpx.Client
) -> None:
    cookies = server.create_app("Shop", "https://shop.example", identity="cookie")
    page = owner_http.get(f"/apps/{cookies.id}/settings").text
    assert "Warning:" in page and "third-party" in page  # footfall answers on 127.0.0.1
    cookieless = server.create_app("Blog", "https://blog.example")
    assert "Warning:" not in owner_http.get(f"/apps/{cookieless.id}/settings").text
    local = server.create_app("Local", "http://127.0.0.1", identity="cookie")
    assert "Warning:" not in owner_http.get(f"/apps/{local.id}/settings").text
