"""POST /api/event: the pixel's fields as JSON, as navigator.sendBeacon and fetch send them."""

from __future__ import annotations

import json

import httpx
import pytest

from footfall.model import App
from tests.live import LiveServer


def payload(app: App, **extra: object) -> dict[str, object]:
    return {
        "app": app.id,
        "url": "https://site.example/docs?x=1",
        "title": "Docs",
        "screensize": "390x844",
        "pixelratio": 3,
        **extra,
    }


@pytest.mark.parametrize("content_type", ["application/json", "text/plain;charset=UTF-8", None])
def test_accepts_json_and_text_plain_bodies(
    server: LiveServer, app: App, http: httpx.Client, content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    resp = http.post("/api/event", content=json.dumps(payload(app)), headers=headers)
    assert resp.status_code == 202
    assert resp.json() == {"status": "accepted"}
    assert "set-cookie" not in resp.headers  # a new app is cookieless
    assert server.rows("SELECT path, hostname, screen, pixel_ratio, channel FROM events") == [
        ("/docs", "site.example", "390x844", 3.0, "api")
    ]


def test_custom_event_with_props(server: LiveServer, app: App, http: httpx.Client) -> None:
    body = payload(
        app, event="signup", props={"plan": "pro", "seats": 3, "trial": True, "coupon": None}
    )
    assert http.post("/api/event", json=body).status_code == 202
    assert server.rows("SELECT event, props FROM events") == [
        ("signup", {"plan": "pro", "seats": "3", "trial": "true"})
    ]


def test_a_site_domain_as_app_names_the_app(
    server: LiveServer, app: App, http: httpx.Client
) -> None:
    body = {**payload(app, event="signup"), "app": "www.site.example"}
    assert http.post("/api/event", json=body).json() == {"status": "accepted"}
    assert server.rows("SELECT app_id, event, channel FROM events") == [(app.id, "signup", "api")]


def test_props_are_bounded(server: LiveServer, app: App, http: httpx.Client) -> None:
    props = {f"k{i:02}": "v" * 1000 for i in range(50)}
    assert http.post("/api/event", json=payload(app, event="big", props=props)).status_code == 202
    ((stored,),) = server.rows("SELECT props FROM events")
    assert len(stored) == 30 and all(len(v) == 256 for v in stored.values())


def test_ignored_hits_are_202_with_the_reason(
    server: LiveServer, app: App, http: httpx.Client
) -> None:
    resp = http.post("/api/event", json={"app": "00000000-0000-4000-8000-000000000000"})
    assert resp.status_code == 202
    assert resp.headers["x-footfall-ignored"] == "unknown-app"
    assert resp.json() == {"status": "ignored", "reason": "unknown-app"}
    assert server.count() == 0


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"not json", "not a JSON object"),
        (b"[1, 2]", "invalid field"),
        (b'"a string"', "invalid field"),
        (b'{"app": 12}', "$.app"),
        (b'{"app": "x", "pixelratio": "two"}', "$.pixelratio"),
        (b'{"app": "x", "props": ["a"]}', "$.props"),
        (b'{"app": "x", "props": {"a": {"b": 1}}}', "$.props"),
        (b"", "not a JSON object"),
    ],
)
def test_bad_bodies_are_400_with_a_reason(
    server: LiveServer, http: httpx.Client, body: bytes, fragment: str
) -> None:
    resp = http.post("/api/event", content=body, headers={"Content-Type": "application/json"})
    assert resp.status_code == 400
    assert fragment in resp.json()["error"]
    assert server.count() == 0


def test_bodies_over_64_kib_are_413(server: LiveServer, app: App, http: httpx.Client) -> None:
    big = json.dumps(payload(app, title="x" * 70_000))
    resp = http.post("/api/event", content=big)
    assert resp.status_code == 413
    assert "error" in resp.json()

    def chunks():  # no Content-Length: the limit holds while streaming too
        for _ in range(20):
            yield b" " * 4096

    resp = http.post("/api/event", content=chunks())
    assert resp.status_code == 413
    assert server.count() == 0


def test_cors_preflight_and_credentials(server: LiveServer, app: App, http: httpx.Client) -> None:
    pre = http.options(
        "/api/event",
        headers={"Origin": "https://site.example", "Access-Control-Request-Method": "POST"},
    )
    assert pre.status_code == 204
    assert pre.headers["access-control-allow-origin"] == "https://site.example"
    resp = http.post("/api/event", json=payload(app), headers={"Origin": "https://site.example"})
    assert resp.headers["access-control-allow-origin"] == "https://site.example"
    assert resp.headers["access-control-allow-credentials"] == "true"


def test_get_is_not_allowed(server: LiveServer, http: httpx.Client) -> None:
    assert http.get("/api/event").status_code == 405


def test_a_uuid_alias_names_the_app(server: LiveServer, app: App, http: httpx.Client) -> None:
    """An old Umami website id kept as an alias: Umami's /script.js sends it as the app."""
    app.aliases = ["0f0c7b2e-5d8a-4a53-9a51-6f1e3c2b7d44"]
    server.runtime.apps.save(app)
    body = {**payload(app), "app": "0F0C7B2E-5D8A-4A53-9A51-6F1E3C2B7D44"}
    assert http.post("/api/event", json=body).json() == {"status": "accepted"}
    unknown = {**payload(app), "app": "11111111-2222-4333-8444-555555555555"}
    assert http.post("/api/event", json=unknown).headers["x-footfall-ignored"] == "unknown-app"
    assert server.rows("SELECT app_id FROM events") == [(app.id,)]
