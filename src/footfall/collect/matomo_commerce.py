"""Matomo's goals, e-commerce and custom data, as footfall events and props (footfall.collect.matomo).

- ``idgoal=0`` with ``ec_id`` is an order: event ``purchase`` with props ``order_id``,
  ``revenue_amount`` (``revenue``, the grand total: the prop footfall's revenue goals read),
  ``subtotal`` (``ec_st``), ``tax`` (``ec_tx``), ``shipping`` (``ec_sh``), ``discount``
  (``ec_dt``) and the items of ``ec_items``.
- ``idgoal=0`` without ``ec_id`` is a cart update: event ``cart_update`` with ``revenue_amount``
  (the cart's total) and its items.
- ``idgoal=N`` (N > 0) is a conversion of Matomo goal N: event ``goal`` with props ``goal_id`` and,
  with ``revenue``, ``revenue_amount``. A footfall goal on the event ``goal`` with ``goal_id=N``
  counts it.
- A page view with ``_pkn``/``_pks``/``_pkc``/``_pkp`` (Matomo's product or category view) keeps
  them as ``product_name``, ``product_sku``, ``product_category`` and ``product_price``.
- On any hit: ``dimensionN`` (a custom dimension, N from 1 to 999) becomes the prop
  ``dimensionN``; custom variables (``_cvar`` for the visit and ``cvar`` for the page, JSON of
  ``{"1": ["name", "value"], …}``) become props ``name``.

``ec_items`` is Matomo's JSON list of ``[sku, name, category, price, quantity]``, kept as
footfall's items props (``item_count`` and a compact ``items``, footfall.collect.items). A
number that is not one (a revenue of ``abc``) refuses the hit with a reason naming the
parameter; a malformed ``ec_items`` or custom variable refuses it as ``matomo-invalid-items`` /
``matomo-invalid-cvar``. Matomo requests carry no currency: revenue is in the app's own (a
revenue goal's currency applies to hits that name none).
"""

from __future__ import annotations

import re

import msgspec

from footfall.collect.fields import whole_number
from footfall.collect.items import MAX_ITEMS, Item, items_props, number_text

Fields = dict[str, str]
Props = dict[str, object]

MAX_CVARS = 20  # Matomo's default limit of custom variables
_DIMENSION = re.compile(r"dimension([1-9][0-9]{0,2})")
# an order's amounts: Matomo's parameter -> footfall's prop
ORDER_AMOUNTS = {
    "revenue": "revenue_amount",
    "ec_st": "subtotal",
    "ec_tx": "tax",
    "ec_sh": "shipping",
    "ec_dt": "discount",
}
PRODUCT_VIEW = {
    "_pkn": "product_name",
    "_pks": "product_sku",
    "_pkc": "product_category",
    "_pkp": "product_price",
}
_json = msgspec.json.Decoder()


class CommerceError(ValueError):
    """A goal or e-commerce parameter footfall cannot store; ``reason`` names it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _amount(fields: Fields, param: str) -> str | None:
    """A number parameter as stored text; None when absent. Raises CommerceError."""
    raw = fields.get(param, "").strip()
    if not raw:
        return None
    text = number_text(raw)
    if text is None:
        raise CommerceError(f"matomo-invalid-{param.replace('_', '-')}")
    return text


def _items(raw: str) -> dict[str, str]:
    """``ec_items`` as items props. Raises CommerceError."""
    try:
        value = _json.decode(raw)
    except msgspec.DecodeError:
        raise CommerceError("matomo-invalid-items") from None
    if not isinstance(value, list) or len(value) > MAX_ITEMS:
        raise CommerceError("matomo-invalid-items")
    items: list[Item] = []
    for entry in value:
        if not isinstance(entry, list) or not entry or len(entry) > 5:
            raise CommerceError("matomo-invalid-items")
        sku, name, _category, price, quantity = [*entry, None, None, None, None][:5]
        item: Item = {}
        if isinstance(sku, str | int) and str(sku):
            item["item_id"] = str(sku)
        if isinstance(name, str) and name:
            item["item_name"] = name
        for key, number in (("price", price), ("quantity", quantity)):
            text = number_text(number) if number not in (None, "") else None
            if text is not None:
                item[key] = float(text) if "." in text or "e" in text else int(text)
        items.append(item)
    return items_props(items)


def goal_hit(fields: Fields) -> tuple[str, Props] | None:
    """The event and props of a goal conversion, an order or a cart update (``idgoal``), or None
    when the request is none of them. Raises CommerceError."""
    raw = fields.get("idgoal", "").strip()
    if not raw:
        return None
    goal = whole_number(raw)
    if goal is None or goal < 0:
        raise CommerceError("matomo-invalid-idgoal")
    if goal > 0:
        props: Props = {"goal_id": str(goal)}
        revenue = _amount(fields, "revenue")
        if revenue is not None:
            props["revenue_amount"] = revenue
        return "goal", props
    order_id = fields.get("ec_id", "").strip()
    props = {"order_id": order_id} if order_id else {}
    for param, prop in ORDER_AMOUNTS.items() if order_id else [("revenue", "revenue_amount")]:
        amount = _amount(fields, param)
        if amount is not None:
            props[prop] = amount
    items = fields.get("ec_items", "").strip()
    if items:
        props.update(_items(items))
    return ("purchase" if order_id else "cart_update"), props


def product_view(fields: Fields) -> Props:
    """The props of a product or category page view (empty when it is neither)."""
    props: Props = {}
    for param, prop in PRODUCT_VIEW.items():
        value = fields.get(param, "").strip()
        if value:
            props[prop] = value
    return props


def custom_props(fields: Fields) -> Props:
    """Custom dimensions and custom variables as props. Raises CommerceError."""
    props: Props = {}
    for name, value in fields.items():
        if _DIMENSION.fullmatch(name) and value.strip():
            props[name] = value.strip()
    for param in ("_cvar", "cvar"):
        raw = fields.get(param, "").strip()
        if not raw:
            continue
        try:
            cvars = _json.decode(raw)
        except msgspec.DecodeError:
            raise CommerceError("matomo-invalid-cvar") from None
        if not isinstance(cvars, dict) or len(cvars) > MAX_CVARS:
            raise CommerceError("matomo-invalid-cvar")
        for pair in cvars.values():
            if not (
                isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)
            ):
                raise CommerceError("matomo-invalid-cvar")
            if pair[0].strip():
                props[pair[0].strip()] = pair[1]
    return props
