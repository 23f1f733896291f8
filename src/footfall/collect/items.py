"""E-commerce ``items`` (GA4's list of products on a purchase, add_to_cart, ... event) as props.

footfall's props are a flat map of short strings, so an event's items are kept as two props:

- ``item_count``: how many items the event had (all of them);
- ``items``: a compact JSON array of the items, each reduced to ``item_id``, ``item_name``,
  ``quantity`` and ``price`` (those it has), as many whole items, in order, as fit in one props
  value (``PROPS_VALUE_CAP`` characters). It is always valid JSON; when ``item_count`` is larger
  than its length, the later items were left out. Absent when not even the first item fits.

Other item fields (brand, categories, coupon, ...) are validated by the receivers but not kept.
Both GA4 receivers use this: ``/mp/collect`` (its ``items`` param) and ``/g/collect`` (gtag's
``pr1``, ``pr2``, ... parameters, read by :func:`gtag_item`).
"""

from __future__ import annotations

import math

import msgspec

from footfall.collect.fields import number as strict_number
from footfall.schema import PROPS_VALUE_CAP

MAX_ITEMS = 200  # GA4's limit of items on one event
MAX_ITEM_PARAMS = 27  # GA4's limit of parameters on one item
KEPT_FIELDS = ("item_id", "item_name", "quantity", "price")
# gtag's short names inside a ``prN`` value (``id123~nmShirt~pr9.99~qt2``) and GA4's names for them
GTAG_ITEM_FIELDS = {
    "id": "item_id",
    "nm": "item_name",
    "br": "item_brand",
    "ca": "item_category",
    "c2": "item_category2",
    "c3": "item_category3",
    "c4": "item_category4",
    "c5": "item_category5",
    "va": "item_variant",
    "pr": "price",
    "qt": "quantity",
    "cp": "coupon",
    "ds": "discount",
    "ln": "item_list_name",
    "li": "item_list_id",
    "lp": "index",
    "af": "affiliation",
    "lo": "location_id",
}
NUMERIC_FIELDS = frozenset({"price", "quantity", "discount", "index"})

Item = dict[str, str | int | float]


def number_text(value: object) -> str | None:
    """A finite number (or its text) as footfall stores it, or None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        parsed = strict_number(value)
        if parsed is None:
            return None
        number = parsed
    elif isinstance(value, float):
        number = value
    else:
        return None
    if not math.isfinite(number):
        return None
    return str(int(number)) if number.is_integer() and abs(number) < 2**53 else repr(number)


def items_props(items: list[Item]) -> dict[str, str]:
    """``item_count`` and ``items`` (see the module docstring) for a validated list of items."""
    props = {"item_count": str(len(items))}
    kept: list[dict[str, str | int | float]] = []
    size = 2  # the brackets
    for item in items:
        slim = {key: item[key] for key in KEPT_FIELDS if key in item}
        if not slim:
            continue
        encoded = len(msgspec.json.encode(slim)) + (1 if kept else 0)
        if size + encoded > PROPS_VALUE_CAP:
            break
        kept.append(slim)
        size += encoded
    if kept:
        props["items"] = msgspec.json.encode(kept).decode()
    return props


def gtag_item(value: str) -> Item | None:
    """One gtag ``prN`` parameter (``id123~nmShirt~pr9.99~qt2``) as a GA4 item, or None when it
    has neither an id nor a name. Unknown two-letter keys (and custom ``k0``/``v0`` pairs) are
    skipped; a numeric field that is not a number is left out."""
    item: Item = {}
    for part in value.split("~"):
        key, text = part[:2], part[2:].strip()
        name = GTAG_ITEM_FIELDS.get(key)
        if name is None or not text or name in item:
            continue
        if name in NUMERIC_FIELDS:
            number = number_text(text)
            if number is not None:
                item[name] = float(number) if "." in number or "e" in number else int(number)
        else:
            item[name] = text
    return item if ("item_id" in item or "item_name" in item) else None
