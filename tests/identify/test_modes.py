"""Identity per app: server-set cookies (default) and first-party ids sent by the tracker."""

from __future__ import annotations

import httpx
import msgspec

from footfall.model import App
from tests.live import LiveServer

VID = "7d3c5e2a-1111-4222-8333-444455556666"
SID = "0b1c2d3e-5555-4666-8777-888899990000"


def first_party_app(server: LiveServer) -> App:
    app = msgspec.structs.replace(server.create_app(), identity="first-party")
    server.runtime.apps.save(app)
    return app


def test_cookie_mode_sets_and_reads_its_cookies(server: LiveServer, http: httpx.Client) -> None:
    app = server.create_app(identity="cookie")
    first = http.get(f"/p.gif?app={app.id}&path=/")
    names = sorted(c.split("=")[0] for c in first.headers.get_list("set-cookie"))
    assert names == ["_utma", "_utmb"]
    http.get(f"/p.gif?app={app.id}&path=/two")  # httpx sends the cookies back
    (v1, s1, i1), (v2, s2, i2) = server.rows(
        "SELECT visitor_id, session_id, identity FROM events ORDER BY rowid"
    )
    assert (v1, s1, i1) == (v2, s2, i2) and i1 == "cookie"


def test_first_party_trusts_valid_uuids_and_sets_no_cookie(
    server: LiveServer, http: httpx.Client
) -> None:
    app = first_party_app(server)
    resp = http.get(f"/p.gif?app={app.id}&path=/&vid={VID.upper()}&sid={SID}")
    assert "set-cookie" not in resp.headers
    resp = http.post("/api/event", json={"app": app.id, "path": "/b", "vid": VID, "sid": SID})
    assert resp.json() == {"status": "accepted"}
    assert "set-cookie" not in resp.headers
    assert server.rows("SELECT visitor_id, session_id, identity FROM events") == [
        (VID, SID, "first-party"),
        (VID, SID, "first-party"),
    ]


def test_first_party_replaces_ids_that_are_not_uuids(
    server: LiveServer, http: httpx.Client
) -> None:
    app = first_party_app(server)
    http.get(f"/p.gif?app={app.id}&path=/&vid=1'%20OR%201=1&sid=x")
    http.get(f"/p.gif?app={app.id}&path=/&vid={VID}&sid=not-a-session")
    (v1, s1, _), (v2, s2, _) = server.rows(
        "SELECT visitor_id, session_id, identity FROM events ORDER BY rowid"
    )
    assert v1 != VID and len(v1) == 36 and s1 != "x"
    assert v2 == VID and s2 != "not-a-session" and len(s2) == 36


def test_first_party_session_expires_on_the_server_clock(
    server: LiveServer, http: httpx.Client
) -> None:
    app = first_party_app(server)
    http.get(f"/p.gif?app={app.id}&path=/&vid={VID}&sid={SID}")
    server.runtime.clock.advance(minutes=45)  # type: ignore[attr-defined]
    http.get(f"/p.gif?app={app.id}&path=/&vid={VID}&sid={SID}")
    (_, s1), (_, s2) = server.rows("SELECT visitor_id, session_id FROM events ORDER BY rowid")
    assert s1 == SID and s2 != SID
