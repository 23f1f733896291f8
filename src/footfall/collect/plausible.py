"""Plausible's Events API on ``POST /api/event``: its payload, and how it becomes footfall hits.

A body without ``app`` but with an event name (``n``/``name``) and a domain (``d``/``domain``) is
a Plausible payload. Its domain names the app: an app whose site (its ``url``) has that host, or
that has it as an alias (case and a leading ``www.`` ignored); a comma-separated list names several
apps, and each known one gets the event once. Field by field (docs/collect.md):

- ``n``/``name`` → ``event`` (``pageview`` stays a page view); ``u``/``url`` → ``url``, with
  ``hostname`` and ``path`` from it (other schemes than http(s), e.g. ``app://``, are taken);
  ``h``/``hashMode`` 1 keeps the URL's fragment in ``path`` (``/docs#intro``), as footfall's
  tracker does with ``data-hash``; ``r``/``referrer`` → ``referrer``.
- ``p``/``props`` (or the older ``m``/``meta``): an object, or a JSON string of one → ``props``.
- ``revenue``/``$`` → props ``revenue_amount`` and ``revenue_currency``; ``i``/``interactive``
  false → props ``interactive`` = ``"false"``. These go first, so the props cap never drops them.
- ``w`` (screen width) is not kept: footfall's ``screen`` is ``WxH`` and its screen-size breakdown
  lists such sizes; a width alone would be a value of another kind in that list, and the device
  class comes from the User-Agent.
- ``engagement`` events (scroll depth and time on page) are not kept: footfall has no place for
  them, and storing them as custom events would count one per page left.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import msgspec

from footfall.apps import AppRegistry
from footfall.collect.fields import FieldError, build_hit, number
from footfall.collect.jsonbody import JsonError, decode_json
from footfall.collect.request import ClientResolver
from footfall.ingest import Ingest, Outcome
from footfall.model import App, Hit

ENGAGEMENT_EVENT = "engagement"
IGNORED_ENGAGEMENT = "plausible-engagement"
MAX_DOMAINS = 10  # one event to more sites than this is not a tracker's doing

PropValue = str | int | float | bool | None
_CURRENCY = re.compile(r"[A-Za-z]{3}")


class PayloadError(ValueError):
    """A Plausible payload that is not acceptable; the message is fit for a 400 answer."""


class PlausibleShape(msgspec.Struct):
    """The fields that tell a Plausible payload from footfall's own (decoded untyped)."""

    app: Any = None
    n: Any = None
    name: Any = None
    d: Any = None
    domain: Any = None

    def is_plausible(self) -> bool:
        return (
            self.app is None
            and (self.n is not None or self.name is not None)
            and (self.d is not None or self.domain is not None)
        )


class PlausiblePayload(msgspec.Struct, kw_only=True):
    """The JSON body of Plausible's ``POST /api/event``, short and long names alike."""

    n: str | int | None = None
    name: str | int | None = None
    u: str | None = None
    url: str | None = None
    d: str | None = None
    domain: str | None = None
    r: str | None = None
    referrer: str | None = None
    p: dict[str, PropValue] | str | None = None
    props: dict[str, PropValue] | str | None = None
    m: dict[str, PropValue] | str | None = None
    meta: dict[str, PropValue] | str | None = None
    w: int | float | None = None
    h: int | bool | None = None
    hashMode: int | bool | None = None  # Plausible's spelling
    revenue: Any = None
    i: bool | None = None
    interactive: bool | None = None

    @property
    def event_name(self) -> str:
        value = self.n if self.n is not None else self.name
        return str(value) if value is not None else ""

    @property
    def page_url(self) -> str | None:
        return self.u if self.u is not None else self.url

    @property
    def domains(self) -> list[str]:
        raw = self.d if self.d is not None else self.domain
        names = [part.strip() for part in (raw or "").split(",")]
        return list(dict.fromkeys(n for n in names if n))[:MAX_DOMAINS]


_shape_decoder = msgspec.json.Decoder(PlausibleShape)
_payload_decoder = msgspec.json.Decoder(PlausiblePayload)
_props_decoder = msgspec.json.Decoder(dict[str, PropValue])


def decode_plausible(body: bytes) -> PlausiblePayload | None:
    """The Plausible payload in ``body``, or None when it is not one. Raises
    ``msgspec.ValidationError`` naming a field of the wrong type, JsonError for what is not JSON."""
    try:
        shape = decode_json(body, _shape_decoder)
    except msgspec.ValidationError:  # not an object: footfall's own decoding says so
        return None
    if not shape.is_plausible():
        return None
    payload: PlausiblePayload = decode_json(body, _payload_decoder)
    return payload


def plausible_props(payload: PlausiblePayload) -> dict[str, PropValue] | None:
    """The props of ``payload``, revenue and interactivity first. Raises PayloadError for props
    that are a string but not a JSON object of scalars."""
    raw = next(
        (v for v in (payload.p, payload.props, payload.m, payload.meta) if v is not None), None
    )
    given: dict[str, PropValue] | None = None
    if isinstance(raw, str):
        try:
            if raw.strip():
                given = decode_json(raw, _props_decoder)
        except (JsonError, msgspec.ValidationError) as exc:
            raise PayloadError(
                f"invalid field: props is not a JSON object of values ({exc})"
            ) from None
    else:
        given = raw
    props: dict[str, PropValue] = {}
    revenue = revenue_props(payload.revenue)
    if revenue:
        props.update(revenue)
    interactive = payload.i if payload.i is not None else payload.interactive
    if interactive is False:
        props["interactive"] = "false"
    for key, value in (given or {}).items():
        props.setdefault(key, value)
    return props or None


def revenue_props(raw: object) -> dict[str, str] | None:
    """``revenue_amount``/``revenue_currency`` from ``{"currency": "EUR", "amount": 12.5}`` (or a
    JSON string of it; the amount may be a decimal string). Anything else: None, as Plausible
    drops a revenue it cannot read and keeps the event."""
    if isinstance(raw, str):
        try:
            raw = decode_json(raw)
        except JsonError:
            return None
    if not isinstance(raw, dict):
        return None
    amount, currency = raw.get("amount"), raw.get("currency")
    if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency):
        return None
    if isinstance(amount, bool) or not isinstance(amount, int | float | str):
        return None
    text = amount.strip() if isinstance(amount, str) else str(amount)
    if number(text) is None:
        return None
    return {"revenue_amount": text, "revenue_currency": currency.upper()}


def page_path(url: str | None, hash_mode: bool) -> str | None:
    """The path of ``url`` with its fragment when ``hash_mode`` (None: build_hit derives it)."""
    if not hash_mode or not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None  # build_hit refuses the URL
    if not parts.fragment:
        return None
    return f"{parts.path or '/'}#{parts.fragment}"


def apps_for(payload: PlausiblePayload, apps: AppRegistry) -> tuple[list[App], list[str]]:
    """The known apps the payload's domains name (each once), and the domains no app has."""
    found: dict[str, App] = {}
    unknown: list[str] = []
    for domain in payload.domains:
        app = apps.by_site(domain)
        if app is None:
            unknown.append(domain)
        else:
            found.setdefault(app.id, app)
    return list(found.values()), unknown


def store_plausible(
    payload: PlausiblePayload,
    ingest: Ingest,
    resolver: ClientResolver,
    scope: dict[str, Any],
    headers: dict[str, str],
) -> list[Outcome]:
    """Hand ``payload`` to ``ingest`` once for each app its domains name; one outcome for each
    hit and for each domain no app has (``unknown-app``), every one counted. Raises PayloadError."""
    props = plausible_props(payload)
    if payload.event_name == ENGAGEMENT_EVENT:
        return [ingest.ignore(IGNORED_ENGAGEMENT)]
    apps, unknown = apps_for(payload, ingest.apps)
    outcomes = [ingest.ignore("unknown-app") for _ in unknown]
    for app in apps:
        try:
            hit = plausible_hit(payload, app, props, headers.get("referer"))
        except FieldError as exc:
            outcomes.append(ingest.ignore(exc.reason))
        else:
            outcomes.append(ingest.process(hit, resolver.context(scope, headers)))
    return outcomes


def plausible_hit(
    payload: PlausiblePayload,
    app: App,
    props: dict[str, PropValue] | None,
    page_header: str | None,
) -> Hit:
    """A new Hit of ``payload`` for ``app``. Raises FieldError like build_hit."""
    url = payload.page_url
    hash_flag = payload.h if payload.h is not None else payload.hashMode
    return build_hit(
        app=app.id,
        url=url,
        path=page_path(url, hash_flag is not None and int(hash_flag) == 1),
        referrer=payload.r if payload.r is not None else payload.referrer,
        event=payload.event_name,
        props=props,
        channel="api",
        page_header=page_header,
        app_schemes=True,
    )
