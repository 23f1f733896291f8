"""Umami's collection API on ``POST /api/send``: its payload, how it becomes a footfall hit, and
the endpoint that answers it.

The body is ``{"type": ..., "payload": {...}}`` (JSON, as Umami's tracker and its clients send
it). ``payload.website`` names the app: its UUID, or an alias (``footfall apps alias APP
<old Umami website id>``). Field by field (docs/collect.md):

- ``type: "event"`` without ``name`` → a page view; with ``name`` → that custom event, its
  ``data`` → ``props`` (nested objects flattened to dotted keys, arrays kept as their JSON text),
  ``tag`` → props ``tag`` (first, so the props cap never drops it).
- ``url``: a full URL is taken as it is; a path (``/blog?x=1``) is joined to ``hostname``
  (``https://{hostname}/blog?x=1``). The path keeps the URL's fragment, as Umami's does.
- ``referrer``, ``title``, ``language``, ``screen`` → the footfall fields of those names; a
  path-only referrer is joined to ``hostname`` as the URL is.
- ``ip``/``userAgent`` stand in for the connection's address and ``User-Agent`` (a server-side
  client sends them for its visitor), as Umami takes them and as ``uip``/``ua`` do on /collect.
- ``type: "identify"`` (and Umami's ``performance``, ``engagement`` and ``error``) store nothing:
  footfall has no user profiles or such measurements; the reason is ``umami-<type>``.
- Not read: ``id`` (a distinct user id), ``timestamp`` (hits are timed on arrival), ``vid``,
  ``browser``/``os``/``device`` (they come from the user agent), ``link``/``pixel``.

Answers: 200 ``{"status": "accepted"}``, or ``{"status": "ignored", "reason": ...}`` with
``X-Footfall-Ignored``; an unknown website is 400, as Umami answers (``unknown-app``, counted).
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urljoin

import msgspec

from footfall.collect.endpoints import (
    IGNORED_HEADER,
    RETRY_AFTER_HEADER,
    answer_preflight,
    cors_headers,
    read_body,
    unavailable,
)
from footfall.collect.fields import FieldError, build_hit, whole_number
from footfall.collect.jsonbody import JsonError, decode_json
from footfall.collect.mp_endpoints import send_json
from footfall.collect.plausible import page_path
from footfall.collect.request import ClientResolver, scope_headers
from footfall.ingest import Ingest, Outcome
from footfall.model import App, Context, Hit, parse_uuid

EVENT_TYPE = "event"
# Umami's other types: answered 200 and counted, nothing stored (one reason each)
NOT_STORED_TYPES = frozenset({"identify", "performance", "engagement", "error"})
ALLOW_HEADERS = b"content-type, x-umami-cache"  # Umami's tracker sends its cache token back

Scope = dict[str, Any]


class PayloadError(ValueError):
    """An Umami body that is not acceptable; the message is fit for a 400 answer."""


class UmamiPayload(msgspec.Struct, kw_only=True):
    """The ``payload`` of Umami's ``POST /api/send`` (the fields footfall reads)."""

    website: str | None = None
    hostname: str | None = None
    url: str | None = None
    title: str | None = None
    referrer: str | None = None
    language: str | None = None
    screen: str | None = None
    name: str | None = None
    data: dict[str, Any] | None = None
    tag: str | None = None
    ip: str | None = None
    userAgent: str | None = None  # Umami's spelling


class UmamiBody(msgspec.Struct, kw_only=True):
    """The JSON body of Umami's ``POST /api/send``."""

    type: str | None = None
    payload: UmamiPayload | None = None


_body_decoder = msgspec.json.Decoder(UmamiBody)


def decode_umami(body: bytes) -> UmamiBody:
    """The Umami body in ``body``. Raises PayloadError (not JSON, a field of the wrong type, no
    ``type`` or ``payload``, a type Umami does not have)."""
    try:
        decoded: UmamiBody = decode_json(body, _body_decoder)
    except msgspec.ValidationError as exc:
        raise PayloadError(f"invalid field: {exc}") from None
    except JsonError as exc:
        raise PayloadError(str(exc)) from None
    if decoded.type is None:
        raise PayloadError("missing field: type")
    if decoded.type != EVENT_TYPE and decoded.type not in NOT_STORED_TYPES:
        raise PayloadError(f"invalid field: type {decoded.type!r} is not an Umami type")
    if decoded.payload is None:
        raise PayloadError("missing field: payload")
    if not decoded.payload.website:
        raise PayloadError("missing field: payload.website")
    return decoded


def flat_props(data: dict[str, Any] | None, tag: str | None) -> dict[str, object] | None:
    """``tag`` and ``data`` as props: ``tag`` first, nested objects flattened to dotted keys
    (``{"cart": {"items": 2}}`` → ``cart.items``), arrays as their compact JSON text; null
    values dropped. footfall's caps (clean_props) apply afterwards."""
    props: dict[str, object] = {}
    if tag and tag.strip():
        props["tag"] = tag.strip()

    def walk(prefix: str, obj: dict[str, Any]) -> None:
        for key, value in obj.items():
            name = f"{prefix}.{key}" if prefix else key
            if isinstance(value, dict):
                walk(name, value)
            elif isinstance(value, list):
                props.setdefault(name, msgspec.json.encode(value).decode())
            elif value is not None:
                props.setdefault(name, value)

    walk("", data or {})
    return props or None


def page_url(url: str | None, hostname: str | None) -> tuple[str | None, str | None]:
    """The URL to store and the path given without one: a full URL as it is; a path joined to
    ``hostname`` (``https://{hostname}{path}``), or kept as a path when there is no hostname."""
    url = url.strip() if url else None
    host = hostname.strip() if hostname else None
    if not url:
        return (f"https://{host}/" if host else None), None
    if "://" in url:
        return url, None  # build_hit refuses what is not a URL it takes
    if not host:
        return None, url if url.startswith("/") else f"/{url}"
    return urljoin(f"https://{host}/", url), None


def find_app(website: str, ingest: Ingest) -> App | None:
    """The app ``website`` names: by its UUID, else by an alias (an old Umami website id)."""
    app_id = parse_uuid(website)
    app = ingest.apps.get(app_id) if app_id is not None else None
    return app or ingest.apps.by_alias(website)


def umami_hit(payload: UmamiPayload, app: App, page_header: str | None) -> Hit:
    """A new Hit of an Umami ``event`` payload for ``app``. Raises FieldError like build_hit."""
    url, path = page_url(payload.url, payload.hostname)
    referrer = payload.referrer
    if referrer and referrer.startswith("/") and payload.hostname:
        referrer = urljoin(f"https://{payload.hostname.strip()}/", referrer)
    return build_hit(
        app=app.id,
        url=url,
        path=path or page_path(url, hash_mode=True),
        title=payload.title,
        referrer=referrer,
        language=payload.language,
        screensize=payload.screen,
        event=payload.name,
        props=flat_props(payload.data, payload.tag),
        channel="api",
        page_header=page_header,
        app_schemes=True,
    )


def client_context(payload: UmamiPayload, base: Context) -> Context:
    """``base`` with the payload's ``ip``/``userAgent`` in place of the connection's, marked
    server-side (an HTTP library's user agent is the sender's, not a bot's). Raises
    PayloadError for an ``ip`` that is not an IP address."""
    if payload.ip and payload.ip.strip():
        try:
            base.ip = str(ipaddress.ip_address(payload.ip.strip()))
        except ValueError:
            raise PayloadError("invalid field: payload.ip is not an IP address") from None
    if payload.userAgent and payload.userAgent.strip():
        base.user_agent = payload.userAgent.strip()
    base.server_side = True  # Umami's server-side clients send here too
    return base


class UmamiEndpoint:
    """POST /api/send — Umami's tracker, its Node and Python clients, or any HTTP client."""

    def __init__(self, ingest: Ingest, resolver: ClientResolver, max_body: int = 65_536) -> None:
        self.ingest = ingest
        self.resolver = resolver
        self.max_body = max_body

    def store(self, body: UmamiBody, scope: Scope, headers: dict[str, str]) -> Outcome:
        """What became of ``body``: stored, or ignored for the reason given (counted either
        way). Raises PayloadError."""
        payload = body.payload
        assert payload is not None and payload.website  # decode_umami made sure
        ctx = client_context(payload, self.resolver.context(scope, headers))
        app = find_app(payload.website, self.ingest)
        if app is None:
            return self.ingest.ignore("unknown-app")
        if body.type != EVENT_TYPE:
            return self.ingest.ignore(f"umami-{body.type}")
        try:
            hit = umami_hit(payload, app, headers.get("referer"))
        except FieldError as exc:
            return self.ingest.ignore(exc.reason)
        return self.ingest.process(hit, ctx)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        headers = scope_headers(scope)
        cors = cors_headers(headers)
        if scope["method"] == "OPTIONS":
            await answer_preflight(send, cors, b"POST, OPTIONS", ALLOW_HEADERS)
            return
        declared = headers.get("content-length", "")
        too_big = {"error": f"body larger than {self.max_body} bytes"}
        if (whole_number(declared) or 0) > self.max_body:
            await send_json(send, 413, too_big, tuple(cors))
            return
        raw = await read_body(receive, self.max_body)
        if raw is None:
            await send_json(send, 413, too_big, tuple(cors))
            return
        try:
            outcome = self.store(decode_umami(raw), scope, headers)
        except PayloadError as exc:
            await send_json(send, 400, {"error": str(exc)}, tuple(cors))
            return
        reason = outcome.reason
        refused = unavailable([reason] if reason else [])
        if refused is not None:
            await send_json(send, 503, refused, (*cors, RETRY_AFTER_HEADER))
            return
        extra = [*cors, *((b"set-cookie", c.encode("latin-1")) for c in outcome.cookies)]
        if reason is None:
            await send_json(send, 200, {"status": "accepted"}, tuple(extra))
            return
        extra.append((IGNORED_HEADER, reason.encode("ascii")))
        if reason == "unknown-app":  # Umami answers 400 for a website it does not have
            await send_json(send, 400, {"error": "website not found"}, tuple(extra))
            return
        await send_json(send, 200, {"status": "ignored", "reason": reason}, tuple(extra))
