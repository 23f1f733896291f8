"""Measurement Protocol v1: /collect, /batch and /debug/collect take what Google's endpoints took."""

from __future__ import annotations

import http.client as http_client
import importlib
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlencode

import google_measurement_protocol as gmp
import httpx
import msgspec
import pytest
import requests
from click.testing import CliRunner
from prices import Money

from footfall.cli import main
from footfall.collect.gif import TRANSPARENT_GIF
from footfall.collect.mp import visitor_key
from footfall.model import App
from tests.live import LiveServer, live_server

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"


@pytest.fixture
def ua_app(server: LiveServer) -> App:
    """An app known to senders by its old Universal Analytics tracking id."""
    app = server.create_app("Memegen", "https://memegen.example")
    app = msgspec.structs.replace(app, aliases=["UA-12345-6"])
    server.runtime.apps.save(app)
    return app


def test_the_issue_snippet_unchanged_but_for_the_url_records_a_pageview(
    server: LiveServer, ua_app: App
) -> None:
    # what a Flask handler had in scope when it posted to Google
    request = SimpleNamespace(
        remote_addr="203.0.113.77",
        path="/memes/cat in box.png",
        user_agent=SimpleNamespace(string=FIREFOX),
        referrer="https://forum.example/thread/9",
    )
    title = "Cat in box"
    # fmt: off
    data = dict(v=1, tid='UA-12345-6', cid=request.remote_addr, t='pageview', dh='memegen.example',
                dp=request.path, dt=title, uip=request.remote_addr, ua=request.user_agent.string,
                dr=request.referrer)
    resp = requests.post(server.url + "/collect", data=data)
    # fmt: on
    assert resp.status_code == 200
    assert resp.content == TRANSPARENT_GIF
    assert "x-footfall-ignored" not in resp.headers
    rows = server.rows(
        "SELECT app_id, event, channel, url, hostname, path, title, referrer, user_agent, ip,"
        " identity, visitor_id, session_id IS NOT NULL, epoch_ms(ts) FROM events"
    )
    assert rows == [
        (
            ua_app.id,
            "pageview",
            "mp",
            "https://memegen.example/memes/cat in box.png",
            "memegen.example",
            "/memes/cat in box.png",
            "Cat in box",
            "https://forum.example/thread/9",
            FIREFOX,
            "203.0.113.0",  # uip, truncated like any address
            "client-id",
            visitor_key(ua_app, "203.0.113.77"),
            True,
            server.clock.now_ms(),
        )
    ]
    assert "203.0.113.77" not in rows[0][11]  # the cid (an address) is not stored as such


def test_tid_may_be_the_app_uuid_and_get_works_too(
    server: LiveServer, app: App, http: httpx.Client
) -> None:
    q = urlencode(
        {"v": 1, "tid": app.id, "cid": "abc", "t": "pageview", "dl": "https://site.example/a?x=1"}
    )
    resp = http.get("/collect?" + q)
    assert resp.status_code == 200 and resp.content == TRANSPARENT_GIF
    assert server.rows("SELECT path, url FROM events") == [("/a", "https://site.example/a?x=1")]


def test_form_body_without_content_type_and_chunked_without_length(
    server: LiveServer, app: App
) -> None:
    body = urlencode({"v": 1, "tid": app.id, "cid": "c1", "t": "pageview", "dp": "/bare"}).encode()
    conn = http_client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.putrequest("POST", "/collect", skip_accept_encoding=True)
    conn.putheader("Content-Length", str(len(body)))
    conn.endheaders(body)  # no Content-Type at all
    resp = conn.getresponse()
    assert (resp.status, resp.read(), resp.getheader("x-footfall-ignored")) == (
        200,
        TRANSPARENT_GIF,
        None,
    )

    def chunks():  # http.client sends an iterable body chunked, without Content-Length
        yield body[:10]
        yield body[10:]

    conn.request("POST", "/collect", body=chunks(), headers={"Content-Type": "text/plain"})
    resp = conn.getresponse()
    assert (resp.status, resp.read(), resp.getheader("x-footfall-ignored")) == (
        200,
        TRANSPARENT_GIF,
        None,
    )
    conn.close()
    assert server.rows("SELECT count(*), min(path) FROM events") == [(2, "/bare")]


def test_events_other_types_campaign_queue_time_and_overrides(server: LiveServer, app: App) -> None:
    base = {"v": "1", "tid": app.id, "cid": "555", "uip": "2001:db8::1", "ua": FIREFOX}
    hits = [
        {**base, "t": "event", "ec": "video", "ea": "play", "el": "intro", "ev": "42", "qt": "60000"},
        {**base, "t": "pageview", "dl": "https://site.example/p", "cn": "spring", "cs": "newsletter",
         "cm": "email", "ck": "shoes", "cc": "top", "sr": "1280x800", "ul": "de-DE"},
        {**base, "t": "exception", "dp": "/err"},
    ]  # fmt: skip
    for data in hits:
        assert "x-footfall-ignored" not in requests.post(server.url + "/collect", data=data).headers
    rows = server.rows(
        "SELECT event, props, utm_campaign, utm_source, utm_medium, utm_term, utm_content, screen,"
        " language, ip, user_agent, epoch_ms(ts) FROM events ORDER BY event"
    )
    now = server.clock.now_ms()
    none7 = (None,) * 7
    assert rows == [
        ("exception", None, *none7[:5], None, None, "2001:db8::", FIREFOX, now),
        ("pageview", None, "spring", "newsletter", "email", "shoes", "top", "1280x800", "de-DE",
         "2001:db8::", FIREFOX, now),
        ("play", {"category": "video", "label": "intro", "value": "42"}, *none7, "2001:db8::",
         FIREFOX, now - 60_000),
    ]  # fmt: skip
    # one client id, one session
    assert server.rows(
        "SELECT count(DISTINCT visitor_id), count(DISTINCT session_id) FROM events"
    ) == [(1, 1)]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"tid": "UA-99999-1"}, "unknown-app"),
        ({"tid": ""}, "missing-app"),
        ({"v": "2"}, "invalid-version"),
        ({"cid": ""}, "missing-client-id"),
        ({"cid": "x" * 300}, "invalid-client-id"),
        ({"t": "hover"}, "invalid-hit-type"),
        ({"t": "event"}, "missing-event-category"),
        ({"qt": str(5 * 3_600_000)}, "queue-time-too-long"),
        ({"qt": "\u00b2"}, "invalid-queue-time"),  # a superscript two: isdigit() but not int()
        ({"qt": "\u0661\u0660"}, "invalid-queue-time"),  # Arabic-Indic digits
        ({"qt": "1_0"}, "invalid-queue-time"),
        ({"qt": "1" * 5000}, "invalid-queue-time"),  # int() refuses over 4300 digits
        ({"t": "event", "ec": "v", "ea": "play", "ev": "\u00b2"}, "invalid-event-value"),
        ({"t": "event", "ec": "v", "ea": "play", "ev": "\uff14\uff12"}, "invalid-event-value"),
        ({"t": "item", "ti": "T1", "in": "mug", "iq": "\u00b2"}, "invalid-quantity"),
        ({"t": "item", "ti": "T1", "in": "mug", "ip": "1_0"}, "invalid-amount"),
        ({"uip": "not-an-ip"}, "invalid-uip"),
        ({"dl": "javascript:alert(1)"}, "invalid-url"),
    ],
)
def test_bad_hits_answer_the_gif_and_say_why(
    server: LiveServer, ua_app: App, change: dict[str, str], reason: str
) -> None:
    data = {"v": "1", "tid": "UA-12345-6", "cid": "1", "t": "pageview", "dp": "/x", **change}
    resp = requests.post(server.url + "/collect", data=data)
    assert resp.status_code == 200 and resp.content == TRANSPARENT_GIF
    assert resp.headers["x-footfall-ignored"] == reason
    assert server.count() == 0


@pytest.mark.parametrize(
    "body",
    [
        b"v=1&tid=TID&cid=1&t=pageview&dp=/caf\xe9",  # a raw latin-1 byte
        b"v=1&tid=TID&cid=1&t=pageview&dp=/caf%E9",  # a percent-encoded one
        b"v=1&tid=TID&cid=1&t=pageview&dp=/\xff\xfe",
    ],
)
def test_a_body_that_is_not_utf8_is_ignored_not_stored_as_mojibake(
    server: LiveServer, app: App, http: httpx.Client, body: bytes
) -> None:
    resp = http.post("/collect", content=body.replace(b"TID", app.id.encode()))
    assert resp.status_code == 200 and resp.content == TRANSPARENT_GIF
    assert resp.headers["x-footfall-ignored"] == "invalid-encoding"
    assert server.count() == 0


def test_a_raw_utf8_body_is_read_as_utf8(server: LiveServer, app: App, http: httpx.Client) -> None:
    body = f"v=1&tid={app.id}&cid=1&t=pageview&dp=/café&dt=Ça va".encode()
    resp = http.post("/collect", content=body)
    assert "x-footfall-ignored" not in resp.headers
    assert server.rows("SELECT path, title FROM events") == [("/café", "Ça va")]


def test_oversized_hit_is_ignored_and_batch_limits_are_413(
    server: LiveServer, app: App, http: httpx.Client
) -> None:
    hit = urlencode({"v": 1, "tid": app.id, "cid": "1", "t": "pageview", "dp": "/b"})
    big = http.post("/collect", content=hit + "&dt=" + "x" * 9000)
    assert big.status_code == 200 and big.headers["x-footfall-ignored"] == "too-large"
    too_many = http.post("/batch", content="\n".join([hit] * 21))
    assert too_many.status_code == 413 and "20" in too_many.json()["error"]
    too_long_line = http.post("/batch", content=hit + "&dt=" + "x" * 8200)
    assert too_long_line.status_code == 413 and "8192" in too_long_line.json()["error"]
    too_big = http.post("/batch", content="\n".join([hit + "&dt=" + "y" * 6000] * 3))
    assert too_big.status_code == 413 and "16384" in too_big.json()["error"]
    ok = http.post("/batch", content="\n".join([hit] * 20) + "\n")
    assert ok.status_code == 200 and ok.content == TRANSPARENT_GIF
    assert server.count() == 20


def test_batch_reports_the_reasons_of_the_hits_it_ignored(
    server: LiveServer, app: App, http: httpx.Client
) -> None:
    good = urlencode({"v": 1, "tid": app.id, "cid": "1", "t": "pageview", "dp": "/b"})
    resp = http.post("/batch", content=f"{good}\nv=1&tid={app.id}&t=pageview\n{good}&t=bogus")
    assert resp.headers["x-footfall-ignored"] == "missing-client-id"  # repeated t: the first counts
    assert server.count() == 2


def test_debug_collect_names_the_offending_parameters_and_stores_nothing(
    server: LiveServer, ua_app: App, http: httpx.Client
) -> None:
    resp = http.get(
        "/debug/collect", params={"v": "1", "tid": "UA-12345-6", "t": "event", "ec": "c"}
    )
    assert resp.status_code == 200
    result = resp.json()["hitParsingResult"]
    assert len(result) == 1 and result[0]["valid"] is False
    problems = {(m["parameter"], m["messageCode"]) for m in result[0]["parserMessage"]}
    assert problems == {("cid", "VALUE_REQUIRED"), ("ea", "VALUE_REQUIRED")}
    assert all("'" + m["parameter"] + "'" in m["description"] for m in result[0]["parserMessage"])

    good = urlencode({"v": 1, "tid": "UA-12345-6", "cid": "9", "t": "pageview", "dp": "/ok"})
    resp = http.post("/debug/collect", content=f"{good}\n{good}&sr=huge")
    results = resp.json()["hitParsingResult"]
    assert [r["valid"] for r in results] == [True, False]
    assert results[1]["parserMessage"][0]["parameter"] == "sr"
    assert resp.json()["parserMessage"][0]["description"] == "Found 2 hits."
    assert server.count() == 0


def test_a_published_measurement_protocol_client_library(
    server: LiveServer, ua_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """google-measurement-protocol from PyPI, pointed at footfall instead of Google."""
    # the package re-exports a function named `report` over its module of that name
    transport = importlib.import_module("google_measurement_protocol.report")
    monkeypatch.setattr(transport, "TRACKING_URI", server.url + "/collect")
    answers = gmp.report(
        "UA-12345-6",
        "35009a79-1a05-49d7-b876-2b884d0f825b",
        [*gmp.pageview(path="/pricing", host_name="memegen.example", title="Pricing", language="fr"),
         *gmp.event("signup", "click", label="hero", value=3)],
        extra_headers={"User-Agent": FIREFOX},
    )  # fmt: skip
    assert [a.status_code for a in answers] == [200, 200]
    assert all("x-footfall-ignored" not in a.headers for a in answers)
    # a batch: the library's payloads, one per line, through /batch
    payloads = [p for i in range(5) for p in gmp.pageview(path=f"/p{i}")]
    body = "\n".join(
        urlencode({**p, "v": "1", "tid": "UA-12345-6", "cid": "batcher"}) for p in payloads
    )
    resp = requests.post(server.url + "/batch", data=body)
    assert resp.status_code == 200 and "x-footfall-ignored" not in resp.headers
    assert server.rows(
        "SELECT event, path, title, language, user_agent, props FROM events ORDER BY path"
    ) == [
        ("pageview", "/p0", None, None, "python-requests/" + requests.__version__, None),
        ("pageview", "/p1", None, None, "python-requests/" + requests.__version__, None),
        ("pageview", "/p2", None, None, "python-requests/" + requests.__version__, None),
        ("pageview", "/p3", None, None, "python-requests/" + requests.__version__, None),
        ("pageview", "/p4", None, None, "python-requests/" + requests.__version__, None),
        ("pageview", "/pricing", "Pricing", "fr", FIREFOX, None),
        ("click", None, None, None, FIREFOX, {"category": "signup", "label": "hero", "value": "3"}),
    ]


def test_required_api_key_for_v1_hits(server: LiveServer, ua_app: App) -> None:
    server.runtime.apps.save(msgspec.structs.replace(ua_app, require_api_key=True))
    data = {"v": "1", "tid": "UA-12345-6", "cid": "1", "t": "pageview", "dp": "/k"}
    url = server.url + "/collect"
    assert requests.post(url, data=data).headers["x-footfall-ignored"] == "invalid-api-secret"
    wrong = requests.post(url, data={**data, "api_secret": "guess"})
    assert wrong.headers["x-footfall-ignored"] == "invalid-api-secret"
    as_param = requests.post(url, data={**data, "api_secret": ua_app.api_secret})
    as_bearer = requests.post(
        url, data=data, headers={"Authorization": f"Bearer {ua_app.api_secret}"}
    )
    assert "x-footfall-ignored" not in as_param.headers
    assert "x-footfall-ignored" not in as_bearer.headers
    assert server.count() == 2


def test_apps_alias_command_makes_the_tracking_id_select_the_app(tmp_path: Path) -> None:
    db = str(tmp_path / "cli.duckdb")
    runner = CliRunner()
    created = runner.invoke(
        main, ["apps", "create", "Memes", "--url", "memegen.example", "--db", db]
    )
    app_id = created.output.split()[0]
    other = runner.invoke(main, ["apps", "create", "Other", "--db", db]).output.split()[0]
    result = runner.invoke(main, ["apps", "alias", app_id, "UA-12345-6", "G-MEMES1", "--db", db])
    assert result.exit_code == 0, result.output
    assert "UA-12345-6, G-MEMES1" in result.output
    taken = runner.invoke(main, ["apps", "alias", other, "ua-12345-6", "--db", db])
    assert taken.exit_code != 0 and "already belongs" in taken.output
    bad = runner.invoke(main, ["apps", "alias", other, "has space", "--db", db])
    assert bad.exit_code != 0 and "has space" in bad.output
    secret = runner.invoke(main, ["apps", "secret", app_id, "--db", db]).output.strip()
    assert len(secret) >= 20
    with live_server(tmp_path / "cli.duckdb") as srv:
        data = {"v": "1", "tid": "UA-12345-6", "cid": "1", "t": "pageview", "dp": "/a"}
        assert "x-footfall-ignored" not in requests.post(srv.url + "/collect", data=data).headers
        assert srv.rows("SELECT app_id FROM events") == [(app_id,)]


def test_dh_given_as_a_url_and_p_without_dp(server: LiveServer, ua_app: App) -> None:
    """universal-analytics' README passes ``dh`` as ``http://host``; ``p`` is the page path."""
    base = {"v": "1", "tid": "UA-12345-6", "cid": "7", "t": "pageview"}
    for extra in (
        {"dh": "http://Memegen.example", "dp": "/with-scheme"},
        {"dh": "memegen.example", "p": "/from-p"},
        {"dh": "https://memegen.example:8443/ignored", "p": "/p-and-dp", "dp": "/dp-wins"},
    ):
        resp = requests.post(server.url + "/collect", data={**base, **extra})
        assert "x-footfall-ignored" not in resp.headers, extra
    assert server.rows("SELECT hostname, path, url FROM events ORDER BY path") == [
        ("memegen.example", "/dp-wins", "https://memegen.example/dp-wins"),
        ("memegen.example", "/from-p", "https://memegen.example/from-p"),
        ("memegen.example", "/with-scheme", "https://memegen.example/with-scheme"),
    ]
    bad = requests.post(server.url + "/collect", data={**base, "p": "no-slash"})
    assert bad.headers["x-footfall-ignored"] == "invalid-path"


def test_transaction_and_item_hits_from_the_published_client(
    server: LiveServer, ua_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    transport = importlib.import_module("google_measurement_protocol.report")
    monkeypatch.setattr(transport, "TRACKING_URI", server.url + "/collect")
    items = [
        gmp.item("Cat mug", Money("12.50", "EUR"), quantity=2, item_id="MUG-1", category="mugs"),
        gmp.item("Sticker", Money("1", "EUR")),
    ]
    hits = gmp.transaction(
        "T-9", items, Money("26.00", "EUR"), tax=Money("4.15", "EUR"),
        shipping=Money("3", "EUR"), affiliation="web shop",
    )  # fmt: skip
    answers = gmp.report("UA-12345-6", "buyer-1", hits)
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert all("x-footfall-ignored" not in a.headers for a in answers)
    assert server.rows("SELECT event, props FROM events ORDER BY event, props['item_name']") == [
        ("item", {"transaction_id": "T-9", "item_name": "Cat mug", "price": "12.50",
                  "quantity": "2", "item_id": "MUG-1", "item_category": "mugs",
                  "currency": "EUR"}),
        ("item", {"transaction_id": "T-9", "item_name": "Sticker", "price": "1",
                  "currency": "EUR"}),
        ("transaction", {"transaction_id": "T-9", "affiliation": "web shop", "revenue": "26.00",
                         "shipping": "3", "tax": "4.15", "currency": "EUR"}),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("hit", "reason"),
    [
        ({"t": "transaction", "tr": "5"}, "missing-transaction-id"),
        ({"t": "item", "ti": "T"}, "missing-item-name"),
        ({"t": "transaction", "ti": "T", "tr": "lots"}, "invalid-amount"),
        ({"t": "item", "ti": "T", "in": "x", "iq": "1.5"}, "invalid-quantity"),
    ],
)
def test_bad_ecommerce_hits_say_why(
    server: LiveServer, ua_app: App, hit: dict[str, str], reason: str
) -> None:
    data = {"v": "1", "tid": "UA-12345-6", "cid": "1", **hit}
    assert requests.post(server.url + "/collect", data=data).headers["x-footfall-ignored"] == reason
    assert server.count() == 0
