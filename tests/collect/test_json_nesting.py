"""Every JSON endpoint refuses bodies nested deeper than a small limit with a 400 and a reason,
checked before decoding: a few kilobytes nested thousands deep used to exhaust the decoder's
recursion and answer 500."""

from __future__ import annotations

import httpx
import msgspec
import pytest

from footfall.collect.jsonbody import MAX_DEPTH, JsonError, decode_json, nesting_depth
from footfall.model import App
from tests.live import LiveServer

DEEP = "[" * 5000 + "]" * 5000


def deep_object(levels: int) -> str:
    return '{"a":' * levels + "1" + "}" * levels


@pytest.mark.parametrize(
    ("body", "depth"),
    [
        (b"1", 0),
        (b"[]", 1),
        (b'{"a": [1, {"b": []}]}', 4),
        (b'{"a": "[[[[{{{{", "b": ["\\"]]]"]}', 2),
        (b'"\\\\"', 0),
    ],
)
def test_depth_counts_brackets_outside_strings(body: bytes, depth: int) -> None:
    assert nesting_depth(body) == depth


def test_decode_accepts_the_limit_and_refuses_one_more() -> None:
    assert decode_json(deep_object(MAX_DEPTH)) is not None
    with pytest.raises(JsonError, match=f"deeper than {MAX_DEPTH}"):
        decode_json(deep_object(MAX_DEPTH + 1))


class Payload(msgspec.Struct):
    a: int


def test_typed_decoders_still_name_the_bad_field() -> None:
    with pytest.raises(msgspec.ValidationError, match=r"\$\.a"):
        decode_json(b'{"a": "x"}', msgspec.json.Decoder(Payload))


@pytest.fixture
def g_app(server: LiveServer) -> App:
    return server.create_app("Shop", "https://shop.example")


def test_event_api_with_a_deep_unknown_key(
    server: LiveServer, app: App, http: httpx.Client
) -> None:
    body = f'{{"app": "{app.id}", "url": "https://site.example/", "p": {deep_object(5000)}}}'
    resp = http.post("/api/event", content=body)
    assert resp.status_code == 400
    assert resp.json() == {"error": f"JSON nested deeper than {MAX_DEPTH} levels"}
    assert server.count() == 0


def test_event_api_with_deep_props(server: LiveServer, app: App, http: httpx.Client) -> None:
    body = f'{{"app": "{app.id}", "event": "x", "props": {DEEP}}}'
    resp = http.post("/api/event", content=body)
    assert resp.status_code == 400
    assert "nested deeper" in resp.json()["error"]


@pytest.mark.parametrize("path", ["/mp/collect", "/debug/mp/collect"])
def test_measurement_protocol_v2_with_deep_params(
    server: LiveServer, g_app: App, http: httpx.Client, path: str
) -> None:
    body = (
        '{"client_id": "1", "events": [{"name": "x", "params": {"deep": '
        + deep_object(5000)
        + "}}]}"
    )
    resp = http.post(
        f"{path}?measurement_id={g_app.id}&api_secret={g_app.api_secret}", content=body
    )
    assert resp.status_code in (200, 400)  # the debug endpoint answers 200 with its messages
    assert "nested deeper than" in resp.text
    if path == "/mp/collect":
        assert resp.status_code == 400
    assert server.count() == 0


def test_pixel_props_too_deep_are_dropped_but_the_hit_counts(
    server: LiveServer, app: App, http: httpx.Client
) -> None:
    params = {"app": app.id, "url": "https://site.example/x", "event": "deep", "props": "[" * 2000}
    resp = http.get("/p.gif", params=params)
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "image/gif"
    assert server.rows("SELECT event, props FROM events") == [("deep", None)]
