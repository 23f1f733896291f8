"""POST /api/send with Umami's payloads: an Umami tracker or client pointed at footfall keeps
working, each event stored for the app its website id names (the app's UUID or an alias)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from footfall.model import App
from tests.live import LiveServer, live_server

BROWSER = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)
OLD_WEBSITE_ID = "cc726914-8e68-4d1a-4be0-af4ca8933456"  # an Umami website id, not a footfall app


def send(http: httpx.Client, body: object, **headers: str) -> httpx.Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return http.post(
        "/api/send",
        content=data,
        headers={"User-Agent": BROWSER, "Content-Type": "application/json", **headers},
    )


def event(website: str, **payload: object) -> dict[str, object]:
    return {"type": "event", "payload": {"website": website, **payload}}


def assert_accepted(resp: httpx.Response) -> None:
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"status": "accepted"}
    assert "x-footfall-ignored" not in resp.headers


PAGE = "SELECT event, url, hostname, path, title, referrer, language, screen, props FROM events"


def test_a_pageview_with_a_path_and_a_hostname(
    server: LiveServer, app: App, http: httpx.Client
) -> None:
    body = event(
        app.id,
        hostname="site.example",
        url="/blog?utm_source=news",
        title="Blog",
        referrer="https://search.example/?q=footfall",
        language="en-GB",
        screen="1920x1080",
    )
    assert_accepted(send(http, body))
    assert server.rows(PAGE) == [
        (
            "pageview",
            "https://site.example/blog?utm_source=news",
            "site.example",
            "/blog",
            "Blog",
            "https://search.example/?q=footfall",
            "en-GB",
            "1920x1080",
            None,
        )
    ]
    assert server.rows("SELECT app_id, channel, utm_source, user_agent FROM events") == [
        (app.id, "api", "news", BROWSER)
    ]


def test_a_full_url_is_taken_as_it_is(server: LiveServer, app: App, http: httpx.Client) -> None:
    body = event(app.id, hostname="ignored.example", url="https://www.site.example/docs#intro")
    assert_accepted(send(http, body))
    assert server.rows("SELECT url, hostname, path FROM events") == [
        ("https://www.site.example/docs#intro", "www.site.example", "/docs#intro")
    ]


def test_a_path_only_referrer_is_joined_to_the_hostname(
    server: LiveServer, app: App, http: httpx.Client
) -> None:
    assert_accepted(send(http, event(app.id, hostname="site.example", url="/b", referrer="/a")))
    assert server.rows("SELECT referrer FROM events") == [("https://site.example/a",)]


def test_a_named_event_with_data(server: LiveServer, app: App, http: httpx.Client) -> None:
    data = {
        "plan": "pro",
        "seats": 3,
        "trial": True,
        "coupon": None,
        "cart": {"items": 2, "currency": {"code": "EUR"}},
        "skus": ["A-1", "B-2"],
    }
    body = event(app.id, hostname="site.example", url="/pricing", name="signup", data=data, tag="b")
    assert_accepted(send(http, body))
    assert server.rows("SELECT event, path, props FROM events") == [
        (
            "signup",
            "/pricing",
            {
                "tag": "b",
                "plan": "pro",
                "seats": "3",
                "trial": "true",
                "cart.items": "2",
                "cart.currency.code": "EUR",
                "skus": '["A-1","B-2"]',
            },
        )
    ]


def test_data_keeps_footfalls_props_limits(
    server: LiveServer, app: App, http: httpx.Client
) -> None:
    data = {f"k{i:02}": "v" * 1000 for i in range(50)}
    body = event(app.id, hostname="site.example", url="/", name="big", data=data, tag="t")
    assert_accepted(send(http, body))
    ((stored,),) = server.rows("SELECT props FROM events")
    assert len(stored) == 30 and stored["tag"] == "t"  # the tag goes first: never cut off
    assert all(len(v) <= 256 for v in stored.values())


def test_identify_stores_nothing_and_says_so(
    server: LiveServer, app: App, http: httpx.Client
) -> None:
    before = server.runtime.ingest.counters.ignored["umami-identify"]
    body = {
        "type": "identify",
        "payload": {"website": app.id, "hostname": "site.example", "id": "user-1", "data": {}},
    }
    resp = send(http, body)
    assert resp.status_code == 200
    assert resp.json() == {"status": "ignored", "reason": "umami-identify"}
    assert resp.headers["x-footfall-ignored"] == "umami-identify"
    assert server.runtime.ingest.counters.ignored["umami-identify"] == before + 1
    assert server.count() == 0


def test_an_unknown_website_is_400_as_umami_answers_and_counted(
    server: LiveServer, app: App, http: httpx.Client
) -> None:
    before = server.runtime.ingest.counters.ignored["unknown-app"]
    for website in (OLD_WEBSITE_ID, "not-a-uuid"):
        resp = send(http, event(website, hostname="site.example", url="/"))
        assert resp.status_code == 400
        assert resp.json() == {"error": "website not found"}
        assert resp.headers["x-footfall-ignored"] == "unknown-app"
    assert server.runtime.ingest.counters.ignored["unknown-app"] == before + 2
    assert server.count() == 0


def test_an_alias_names_the_app(server: LiveServer, app: App, http: httpx.Client) -> None:
    app.aliases = [OLD_WEBSITE_ID]
    server.runtime.apps.save(app)
    assert_accepted(send(http, event(OLD_WEBSITE_ID.upper(), hostname="site.example", url="/x")))
    assert server.rows("SELECT app_id, path FROM events") == [(app.id, "/x")]


def test_ip_and_user_agent_in_the_payload_stand_in_for_the_connections(
    server: LiveServer, app: App, http: httpx.Client
) -> None:
    body = event(app.id, hostname="site.example", url="/", ip="203.0.113.9", userAgent="Lynx/2.9")
    assert_accepted(send(http, body))
    assert server.rows("SELECT ip, user_agent FROM events") == [("203.0.113.0", "Lynx/2.9")]
    resp = send(http, event(app.id, hostname="site.example", url="/", ip="nowhere"))
    assert resp.status_code == 400 and "payload.ip" in resp.json()["error"]


def test_cors_preflight_allows_umamis_cache_header(server: LiveServer, http: httpx.Client) -> None:
    resp = http.options("/api/send", headers={"Origin": "https://site.example"})
    assert resp.status_code == 204
    assert resp.headers["access-control-allow-origin"] == "https://site.example"
    assert "x-umami-cache" in resp.headers["access-control-allow-headers"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"", "not a JSON object"),
        (b'{"type": "event", "payload": {"website": ', "not a JSON object"),
        (b"type=event", "not a JSON object"),
        (b"[1]", "invalid field"),
        (b'{"payload": {"website": "x"}}', "missing field: type"),
        (b'{"type": "event"}', "missing field: payload"),
        (b'{"type": "event", "payload": {"url": "/"}}', "payload.website"),
        (b'{"type": "pageview", "payload": {"website": "x"}}', "not an Umami type"),
        (b'{"type": "event", "payload": {"website": "x", "data": [1]}}', "$.payload.data"),
        (b'{"type": "event", "payload": {"website": "x", "url": 7}}', "$.payload.url"),
        (b'{"type": "event", "payload": ' + b"[" * 40 + b"]" * 40 + b"}", "deeper"),
    ],
)
def test_bad_bodies_are_400(
    server: LiveServer, app: App, http: httpx.Client, body: bytes, fragment: str
) -> None:
    resp = send(http, body)
    assert resp.status_code == 400
    assert fragment in resp.json()["error"]
    assert server.count() == 0


def test_a_body_over_the_limit_is_413(server: LiveServer, app: App, http: httpx.Client) -> None:
    body = event(app.id, hostname="site.example", url="/", name="x", data={"x": "y" * 70_000})
    assert send(http, body).status_code == 413
    assert server.count() == 0


def test_a_full_spool_is_503_with_retry_after(tmp_path: Path) -> None:
    with live_server(tmp_path / "full.duckdb", spool_max="4KB") as server:
        app = server.create_app()
        with httpx.Client(base_url=server.url) as http:
            body = event(app.id, hostname="site.example", url="/")
            for _ in range(1000):  # 4 KB of spool holds a few hits
                if (resp := send(http, body)).status_code != 200:
                    break
                assert resp.json() == {"status": "accepted"}
            assert resp.status_code == 503
            assert resp.headers["retry-after"] == "5"
            assert resp.json()["reason"] == "spool-full"


def test_the_umami_analytics_client(
    server: LiveServer, app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ``umami-analytics`` package from PyPI, used as its README shows (no login: sending
    needs none), pointed at footfall with the app's alias as its website id."""
    umami = pytest.importorskip("umami")
    for name in ("url_base", "default_website_id", "default_hostname", "tracking_enabled"):
        monkeypatch.setattr(umami.impl, name, getattr(umami.impl, name))  # restored afterwards
    app.aliases = [OLD_WEBSITE_ID]
    server.runtime.apps.save(app)
    umami.set_url_base(server.url)
    umami.set_website_id(OLD_WEBSITE_ID)
    umami.set_hostname("somedomain.com")

    answers = [
        umami.new_event(
            event_name="Umami-Test",
            url="/users/actions",
            custom_data={"client": "umami-tester-v1"},
            distinct_id="user-123",
            referrer="https://some_url",
        ),
        umami.new_page_view(
            page_title="Umami-Test", url="/users/actions", ip_address="203.0.113.9"
        ),
        umami.new_revenue_event(
            revenue=19.99, currency="USD", event_name="checkout-cart", url="/checkout"
        ),
    ]
    assert answers == [{"status": "accepted"}] * 3
    rows = server.rows(
        "SELECT event, url, hostname, path, title, referrer, language, screen, props, ip"
        " FROM events ORDER BY event"
    )
    assert rows == [
        (
            "Umami-Test",
            "https://somedomain.com/users/actions",
            "somedomain.com",
            "/users/actions",
            "Umami-Test",
            "https://some_url",
            "en-US",
            "1920x1080",
            {"client": "umami-tester-v1"},
            "127.0.0.0",
        ),
        (
            "checkout-cart",
            "https://somedomain.com/checkout",
            "somedomain.com",
            "/checkout",
            "checkout-cart",
            None,  # the client sends referrer "": none
            "en-US",
            "1920x1080",
            {"revenue": "19.99", "currency": "USD"},
            "127.0.0.0",
        ),
        (
            "pageview",
            "https://somedomain.com/users/actions",
            "somedomain.com",
            "/users/actions",
            "Umami-Test",
            None,
            "en-US",
            "1920x1080",
            None,
            "203.0.113.0",
        ),
    ]
    assert {r[0] for r in server.rows("SELECT app_id FROM events")} == {app.id}


NODE_CLIENT = """
const { Umami } = require("@umami/node");
const umami = new Umami({ websiteId: process.argv[1], hostUrl: process.argv[2] });
(async () => {
  const answers = [
    await umami.track({ hostname: "node.example", url: "/home", title: "Home" }),
    await umami.track("signup", { plan: "pro", seats: 2 }),
    await umami.identify({ email: "ada@example.com" }),
  ];
  for (const res of answers) {
    console.log(JSON.stringify([res.status, await res.json()]));
  }
})();
"""


CLIENTS = Path(__file__).parents[1] / "clients" / "node_modules"  # `npm ci` in tests/clients


def test_the_umami_node_client(server: LiveServer, app: App) -> None:
    """``@umami/node`` from npm, as its README shows. Skipped unless ``node`` runs and finds the
    package: ``.ci/run`` installs it into tests/clients with ``npm ci`` when npm is there."""
    node = shutil.which("node")
    env = {
        **os.environ,
        "NODE_PATH": os.pathsep.join(filter(None, [str(CLIENTS), os.environ.get("NODE_PATH")])),
    }
    found = node and subprocess.run(
        [node, "-e", 'require.resolve("@umami/node")'], env=env, capture_output=True
    )
    if not found or found.returncode != 0:
        pytest.skip("node or @umami/node missing (cd tests/clients && npm ci)")
    assert node is not None
    done = subprocess.run(
        [node, "-e", NODE_CLIENT, app.id, server.url],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
        env=env,
    )
    assert [json.loads(line) for line in done.stdout.splitlines()] == [
        [200, {"status": "accepted"}],
        [200, {"status": "accepted"}],
        [200, {"status": "ignored", "reason": "umami-identify"}],
    ]
    rows = server.rows("SELECT event, url, hostname, path, title, props FROM events")
    assert sorted(rows, key=str) == [
        ("pageview", "https://node.example/home", "node.example", "/home", "Home", None),
        # no url, no hostname: the app's host, and no path
        ("signup", None, "site.example", None, None, {"plan": "pro", "seats": "2"}),
    ]
    agents = server.rows("SELECT DISTINCT user_agent FROM events")
    assert len(agents) == 1 and agents[0][0].startswith("Mozilla/5.0 Umami/v")  # the client's
