"""GA4 Measurement Protocol: /mp/collect stores events for the app whose secret came with them;
/debug/mp/collect explains what is wrong and stores nothing."""

from __future__ import annotations

import urllib.error

import httpx
import msgspec
import pytest
from ga4mp import GtagMP

from footfall.collect.mp import visitor_key
from footfall.model import App
from tests.live import LiveServer


@pytest.fixture
def g_app(server: LiveServer) -> App:
    app = server.create_app("Shop", "https://shop.example")
    app = msgspec.structs.replace(app, aliases=["G-SHOP123"])
    server.runtime.apps.save(app)
    return app


def ga4(server: LiveServer, app: App, secret: str | None = None) -> GtagMP:
    """The ga4mp library from PyPI, aimed at footfall instead of Google."""
    client = GtagMP(
        api_secret=secret or app.api_secret, measurement_id="G-SHOP123", client_id="1234.5678"
    )
    client._base_domain = server.url + "/mp/collect"
    client._validation_domain = server.url + "/debug/mp/collect"
    return client


def test_a_published_ga4_client_sends_pageviews_and_events(server: LiveServer, g_app: App) -> None:
    client = ga4(server, g_app)
    client.send(
        [
            {
                "name": "page_view",
                "params": {
                    "page_location": "https://shop.example/cart?step=2",
                    "page_title": "Cart",
                    "page_referrer": "https://search.example/",
                },
            },
            {
                "name": "add_to_cart",
                "params": {"currency": "EUR", "value": 9.5, "campaign": "winter", "source": "mail"},
            },
        ]
    )
    rows = server.rows(
        "SELECT event, channel, path, title, referrer, props, utm_campaign, utm_source, identity,"
        " visitor_id FROM events ORDER BY event"
    )
    vid = visitor_key(g_app, "1234.5678")
    assert rows == [
        ("add_to_cart", "mp", None, None, None, {"currency": "EUR", "value": "9.5"}, "winter",
         "mail", "client-id", vid),
        ("pageview", "mp", "/cart", "Cart", "https://search.example/", None, None, None,
         "client-id", vid),
    ]  # fmt: skip
    assert server.rows("SELECT count(DISTINCT session_id) FROM events") == [(1,)]


def test_more_than_25_events_are_sent_in_batches_by_the_client(
    server: LiveServer, g_app: App
) -> None:
    events = [{"name": "tick", "params": {"n": i}} for i in range(30)]
    ga4(server, g_app).send(events)  # the library splits them 25 + 5
    assert server.rows("SELECT count(*), count(DISTINCT props['n']) FROM events") == [(30, 30)]


def test_wrong_or_missing_api_secret_is_refused(
    server: LiveServer, g_app: App, http: httpx.Client
) -> None:
    with pytest.raises(urllib.error.HTTPError) as refused:
        ga4(server, g_app, secret="not-the-secret").send([{"name": "x", "params": {}}])
    assert refused.value.code == 403
    resp = http.post(
        "/mp/collect?measurement_id=G-SHOP123", json={"client_id": "1", "events": [{"name": "x"}]}
    )
    assert resp.status_code == 403
    assert resp.json()["error"].startswith("api_secret:")
    assert server.count() == 0


def test_timestamp_ip_and_user_agent(server: LiveServer, g_app: App, http: httpx.Client) -> None:
    hour_ago = server.clock.now_ms() - 3_600_000
    body = {
        "client_id": "c",
        "timestamp_micros": hour_ago * 1000,
        "ip_override": "198.51.100.23",
        "user_agent": "Shop backend/2.0",
        "events": [{"name": "purchase", "params": {"transaction_id": "T1"}}],
    }
    resp = http.post(
        f"/mp/collect?measurement_id={g_app.id}&api_secret={g_app.api_secret}", json=body
    )
    assert resp.status_code == 204
    assert server.rows("SELECT epoch_ms(ts), ip, user_agent FROM events") == [
        (hour_ago, "198.51.100.0", "Shop backend/2.0")
    ]


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"events": [{"name": "x"}]}, "client_id", "VALUE_REQUIRED"),
        ({"client_id": "1", "events": []}, "events", "VALUE_REQUIRED"),
        ({"client_id": "1", "events": [{"name": "x"}] * 26}, "events", "EXCEEDED_MAX_ENTITIES"),
        ({"client_id": "1", "events": [{"name": "9lives"}]}, "events[0].name", "NAME_INVALID"),
        ({"client_id": "1", "events": [{"name": "ga_thing"}]}, "events[0].name", "NAME_RESERVED"),
        ({"client_id": "1", "events": [{"name": "a", "params": {"b-c": 1}}]}, "events[0].params.b-c", "NAME_INVALID"),
        ({"client_id": "1", "events": [{"name": "a", "params": {"b": [1]}}]}, "events[0].params.b", "VALUE_INVALID"),
        ({"client_id": "1", "timestamp_micros": 1, "events": [{"name": "a"}]}, "timestamp_micros", "VALUE_OUT_OF_BOUNDS"),
        ({"client_id": "1", "timestamp_micros": "\u00b2", "events": [{"name": "a"}]}, "timestamp_micros", "VALUE_INVALID"),
        ({"client_id": "1", "timestamp_micros": "1_0", "events": [{"name": "a"}]}, "timestamp_micros", "VALUE_INVALID"),
    ],
)  # fmt: skip
def test_debug_endpoint_explains_and_collect_refuses(
    server: LiveServer,
    g_app: App,
    http: httpx.Client,
    body: dict[str, object],
    field: str,
    code: str,
) -> None:
    query = f"?measurement_id=G-SHOP123&api_secret={g_app.api_secret}"
    debug = http.post("/debug/mp/collect" + query, json=body)
    assert debug.status_code == 200
    messages = debug.json()["validationMessages"]
    assert messages and messages[0]["fieldPath"] == field and messages[0]["validationCode"] == code
    refused = http.post("/mp/collect" + query, json=body)
    assert refused.status_code == 400 and refused.json()["error"].startswith(field)
    assert server.count() == 0


def test_debug_endpoint_with_a_valid_payload_is_empty_and_stores_nothing(
    server: LiveServer, g_app: App
) -> None:
    ga4(server, g_app).send(
        [{"name": "page_view", "params": {"page_path": "/x"}}], validation_hit=True
    )
    resp = httpx.post(
        f"{server.url}/debug/mp/collect?measurement_id=G-SHOP123&api_secret={g_app.api_secret}",
        json={"client_id": "1", "events": [{"name": "page_view", "params": {"page_path": "/x"}}]},
    )
    assert resp.json() == {"validationMessages": []}
    assert server.count() == 0


def test_not_json_and_too_large(server: LiveServer, g_app: App, http: httpx.Client) -> None:
    query = f"?measurement_id=G-SHOP123&api_secret={g_app.api_secret}"
    bad = http.post("/mp/collect" + query, content=b"{nope")
    assert bad.status_code == 400 and "not a JSON object" in bad.json()["error"]
    big = http.post("/mp/collect" + query, content=b"x" * 200_000)
    assert big.status_code == 413


def test_a_purchase_with_items_from_the_published_client(server: LiveServer, g_app: App) -> None:
    client = ga4(server, g_app)
    purchase = client.create_new_event("purchase")
    purchase.set_event_param("transaction_id", "T-1001")
    purchase.set_event_param("currency", "EUR")
    purchase.set_event_param("value", 42.5)
    for sku, name, price, quantity in [("SKU_1", "Shirt", 20, 2), ("SKU_2", "Socks", 2.5, 1)]:
        item = purchase.create_new_item(item_id=sku, item_name=name)
        item.set_parameter("price", price)
        item.set_parameter("quantity", quantity)
        item.set_parameter("item_brand", "Acme")
        purchase.add_item_to_event(item)
    client.send([purchase])
    assert server.rows("SELECT event, props FROM events") == [
        (
            "purchase",
            {
                "transaction_id": "T-1001",
                "currency": "EUR",
                "value": "42.5",
                "item_count": "2",
                "items": '[{"item_id":"SKU_1","item_name":"Shirt","quantity":2,"price":20},'
                '{"item_id":"SKU_2","item_name":"Socks","quantity":1,"price":2.5}]',
            },
        )
    ]


def test_items_beyond_what_one_props_value_holds_are_counted(
    server: LiveServer, g_app: App, http: httpx.Client
) -> None:
    items = [{"item_id": f"SKU_{i:03}", "item_name": "Thing", "price": 1} for i in range(200)]
    body = {"client_id": "1", "events": [{"name": "purchase", "params": {"items": items}}]}
    resp = http.post(
        f"/mp/collect?measurement_id=G-SHOP123&api_secret={g_app.api_secret}", json=body
    )
    assert resp.status_code == 204
    [(props,)] = server.rows("SELECT props FROM events")
    kept = msgspec.json.decode(props["items"])
    assert props["item_count"] == "200" and len(props["items"]) <= 256
    assert kept == items[: len(kept)] and len(kept) == 4  # whole items, in order


@pytest.mark.parametrize(
    ("items", "field", "code"),
    [
        ([{"item_id": "x"}] * 201, "events[0].params.items", "EXCEEDED_MAX_ENTITIES"),
        ({"item_id": "x"}, "events[0].params.items", "VALUE_INVALID"),
        ([{"item_id": "x"}, "y"], "events[0].params.items[1]", "VALUE_INVALID"),
        ([{"item_id": {"nested": 1}}], "events[0].params.items[0].item_id", "VALUE_INVALID"),
        ([{"item-id": "x"}], "events[0].params.items[0]", "NAME_INVALID"),
    ],
)  # fmt: skip
def test_items_that_are_not_a_bounded_list_of_flat_objects_are_refused(
    server: LiveServer, g_app: App, http: httpx.Client, items: object, field: str, code: str
) -> None:
    query = f"?measurement_id=G-SHOP123&api_secret={g_app.api_secret}"
    body = {"client_id": "1", "events": [{"name": "purchase", "params": {"items": items}}]}
    refused = http.post("/mp/collect" + query, json=body)
    assert refused.status_code == 400 and refused.json()["error"].startswith(field + ":")
    debug = http.post("/debug/mp/collect" + query, json=body).json()["validationMessages"]
    assert (debug[0]["fieldPath"], debug[0]["validationCode"]) == (field, code)
    assert server.count() == 0
