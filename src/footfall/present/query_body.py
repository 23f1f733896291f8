"""The body of a Stats API v2 query (``POST /api/v2/query``): what it may hold, and its decoding.

:class:`QueryBody` is Plausible's query object (msgspec checks its keys and types); the names a
query may use (metrics, dimensions) and the ones refused with a reason are listed here, and
checked field by field by footfall.present.query_plan. Errors are :class:`BadQuery`: a 400 naming
the field as a JSON pointer, in Plausible's words.
"""

from __future__ import annotations

import json
import re
from typing import Any

import msgspec

MAX_LIMIT = 10_000
MAX_FILTERS = 20

METRICS = (
    "visitors",
    "visits",
    "pageviews",
    "views_per_visit",
    "bounce_rate",
    "visit_duration",
    "events",
    "percentage",
    "conversion_rate",
    "time_on_page",
)
REFUSED_METRICS = {
    "scroll_depth": "footfall keeps no scroll depth",
    "group_conversion_rate": "conversion_rate by event:goal is the goal's share of all visitors",
    "total_revenue": "revenue is answered by the v1 breakdown by event:goal",
    "average_revenue": "revenue is answered by the v1 breakdown by event:goal",
    "exit_rate": "not a metric of the public API",
}
SESSION_ONLY = ("bounce_rate", "visit_duration", "views_per_visit")
EVENT_ONLY = ("pageviews", "events")
SESSION_DIMS = ("visit:entry_page", "visit:exit_page")
TIME_DIMS = ("time", "time:hour", "time:day", "time:week", "time:month")

# Plausible's dimension names → footfall's (the v1 names; region and city hold names)
DIMENSIONS: dict[str, str] = {
    name: name
    for name in (
        "event:page",
        "event:hostname",
        "event:name",
        "event:goal",
        "visit:entry_page",
        "visit:exit_page",
        "visit:source",
        "visit:referrer",
        "visit:utm_medium",
        "visit:utm_source",
        "visit:utm_campaign",
        "visit:utm_content",
        "visit:utm_term",
        "visit:device",
        "visit:browser",
        "visit:browser_version",
        "visit:os",
        "visit:os_version",
        "visit:country",
        "visit:screen",
        # footfall's own, beyond Plausible's
        "event:title",
        "visit:medium",
        "visit:language",
        "visit:pixel_ratio",
        "visit:identity",
    )
} | {"visit:region_name": "visit:region", "visit:city_name": "visit:city"}
REFUSED_DIMENSIONS = {
    "visit:channel": "footfall has no acquisition channels; visit:medium is the nearest",
    "visit:country_name": "country names are not stored; visit:country has the ISO code",
    "visit:region": "region codes are not stored; visit:region_name has the region's name",
    "visit:city": "GeoName ids are not stored; visit:city_name has the city's name",
    "visit:entry_page_hostname": "the entry page's host name is not stored",
    "visit:exit_page_hostname": "the exit page's host name is not stored",
    "segment": "footfall has no segments",
}
_TYPES = {
    "str": "String",
    "int": "Integer",
    "float": "Number",
    "bool": "Boolean",
    "array": "Array",
    "object": "Object",
    "null": "Null",
}


class Pagination(msgspec.Struct, forbid_unknown_fields=True):
    limit: int = MAX_LIMIT
    offset: int = 0


class Include(msgspec.Struct, forbid_unknown_fields=True):
    imports: bool = False
    time_labels: bool = False
    total_rows: bool = False


class QueryBody(msgspec.Struct, forbid_unknown_fields=True):
    """Plausible's query object (its public JSON schema's keys and types)."""

    site_id: str
    metrics: list[str]
    date_range: str | list[str]
    dimensions: list[str] = msgspec.field(default_factory=list)
    filters: list[Any] = msgspec.field(default_factory=list)
    order_by: list[Any] | None = None
    include: Include = msgspec.field(default_factory=Include)
    pagination: Pagination = msgspec.field(default_factory=Pagination)


class BadQuery(Exception):
    """A 400: ``pointer`` is the JSON pointer of the field (``#/metrics/1``)."""

    def __init__(self, pointer: str, message: str) -> None:
        super().__init__(f"{pointer}: {message}")
        self.text = f"{pointer}: {message}"


def show(value: object) -> str:
    """A value as Plausible's errors quote it (``"hugs"``, ``["is", "visit:country", ["DE"]]``)."""
    return json.dumps(value, ensure_ascii=False)


def decode(body: bytes) -> QueryBody:
    """The query object, or BadQuery in Plausible's words (JSON pointer, then why)."""
    try:
        return msgspec.json.decode(body, type=QueryBody)
    except msgspec.ValidationError as exc:
        raise _schema_error(str(exc)) from None
    except msgspec.DecodeError as exc:
        raise BadQuery("#", f"the body is not JSON: {exc}") from None


def _schema_error(text: str) -> BadQuery:
    message, _, at = text.partition(" - at `")
    pointer = "#" + re.sub(r"\[(\d+)\]", r"/\1", at.rstrip("`").removeprefix("$")).replace(".", "/")
    if m := re.fullmatch(r"Object missing required field `(.+)`", message):
        return BadQuery(pointer, f"Required property {m.group(1)} was not present.")
    if m := re.fullmatch(r"Object contains unknown field `(.+)`", message):
        return BadQuery(f"{pointer}/{m.group(1)}", "Schema does not allow additional properties.")
    if m := re.fullmatch(r"Expected `([^`]+)`, got `([^`]+)`", message):
        want = " or ".join(_TYPES.get(t.strip(), t) for t in m.group(1).split("|"))
        return BadQuery(
            pointer, f"Type mismatch. Expected {want} but got {_TYPES.get(m.group(2), m.group(2))}."
        )
    return BadQuery(pointer, message)
