"""The collection endpoints as plain ASGI callables (no per-request framework objects on the hot path).

- ``GET /p.gif``: the pixel. Always the 43-byte GIF; a hit not stored says why in X-Footfall-Ignored.
- ``POST /api/event``: the same fields as JSON (application/json or text/plain, as sendBeacon sends),
  or Plausible's Events API payload (footfall.collect.plausible), answered as Plausible does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, unquote_to_bytes

import msgspec

from footfall.buffer import UNAVAILABLE
from footfall.collect.fields import (
    PIXEL_FIELDS,
    EventPayload,
    FieldError,
    build_hit,
    decode_props_param,
    whole_number,
)
from footfall.collect.gif import NO_CACHE_HEADERS, TRANSPARENT_GIF
from footfall.collect.jsonbody import JsonError, decode_json
from footfall.collect.plausible import (
    PayloadError,
    PlausiblePayload,
    decode_plausible,
    store_plausible,
)
from footfall.collect.request import ClientResolver, scope_headers
from footfall.ingest import Ingest, Outcome

log = logging.getLogger("footfall.collect")

IGNORED_HEADER = b"x-footfall-ignored"
RETRY_AFTER_HEADER = (b"retry-after", b"5")


def unavailable(reasons: list[str]) -> dict[str, str] | None:
    """The 503 body when a hit was not taken because the server cannot keep hits right now (the
    spool is full or its disk fails): the client should send it again later."""
    reason = next((r for r in reasons if r in UNAVAILABLE), None)
    if reason is None:
        return None
    return {
        "error": f"the server cannot keep hits right now ({reason}); retry later",
        "reason": reason,
    }


NO_CACHE_HEAD = b"".join(b"%s: %s\r\n" % pair for pair in NO_CACHE_HEADERS)
MAX_QUERY = 16_384  # bytes of pixel query string; beyond it the hit is ignored as too-large
MAX_FIELDS = 64

Scope = dict[str, Any]


async def read_capped(receive: Any, limit: int) -> tuple[bytes, bool]:
    """The request body up to ``limit`` bytes, and whether there was more (not read further)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        body = message.get("body", b"")
        chunks.append(body)
        size += len(body)
        if size > limit:
            return b"".join(chunks)[:limit], True
        if not message.get("more_body", False):
            break
    return b"".join(chunks), False


async def read_body(receive: Any, limit: int) -> bytes | None:
    """The request body, or None once it grows past ``limit`` bytes."""
    body, more = await read_capped(receive, limit)
    return None if more else body


def cors_headers(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    """The CORS answer for a page's ``Origin``: that origin, with credentials (cookies)."""
    origin = headers.get("origin")
    if not origin:
        return []
    return [
        (b"access-control-allow-origin", origin.encode("latin-1")),
        (b"access-control-allow-credentials", b"true"),
        (b"vary", b"Origin"),
    ]


async def answer_preflight(
    send: Any, cors: list[tuple[bytes, bytes]], methods: bytes, allow: bytes = b"content-type"
) -> None:
    """A CORS preflight's 204: ``methods`` and request headers ``allow``ed, for a day."""
    headers = [
        *cors,
        (b"access-control-allow-methods", methods),
        (b"access-control-allow-headers", allow),
        (b"access-control-max-age", b"86400"),
    ]
    await send({"type": "http.response.start", "status": 204, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


class TooManyFields(ValueError):
    pass


_compiled_parse_query: Callable[[bytes, frozenset[str], int], dict[str, str] | None] | None
try:
    from footfall._speedups import parse_query as _compiled_parse_query
except ImportError:  # built without a C compiler: the Python parser below
    _compiled_parse_query = None


def compiled_parsers() -> bool:
    """True when the pixel's parsers run in C (footfall._speedups was built at install)."""
    return _compiled_parse_query is not None


def parse_query(query: bytes, wanted: frozenset[str] = PIXEL_FIELDS) -> dict[str, str]:
    """The wanted parameters of a query string (first occurrence wins), UTF-8 decoded strictly.

    Raises UnicodeDecodeError for bytes that are not UTF-8, TooManyFields past MAX_FIELDS.
    Wanted names are ASCII. ``footfall._speedups.parse_query`` does this in C when it was built;
    otherwise (and in the tests, side by side with it) ``parse_query_python`` does.
    """
    if _compiled_parse_query is None:
        return parse_query_python(query, wanted)
    fields: dict[str, str] | None = _compiled_parse_query(query, wanted, MAX_FIELDS)
    if fields is None:
        raise TooManyFields(query.count(b"&") + 1)
    return fields


def parse_query_python(query: bytes, wanted: frozenset[str] = PIXEL_FIELDS) -> dict[str, str]:
    """``parse_query`` in Python. Unwanted parameters are skipped without decoding them. The wanted raw values are joined with
    NUL (never raw in a URL) and decoded in one C-level pass, then split again; a query that
    encodes NUL itself (%00) takes the value-by-value path.
    """
    if query.count(b"&") >= MAX_FIELDS:
        raise TooManyFields(query.count(b"&") + 1)
    keys: list[str] = []
    values: list[bytes] = []
    for part in query.split(b"&"):
        raw_key, _, raw_value = part.partition(b"=")
        key = raw_key.decode("latin-1")
        if "%" in key or "+" in key:
            key = unquote(key.replace("+", " "), errors="replace")
        if key in wanted and key not in keys:
            keys.append(key)
            values.append(raw_value)
    if not keys:
        return {}
    joined = b"\0".join(values).replace(b"+", b" ")
    if b"%00" in joined or b"\0" in query:
        return {k: percent_decode(v.replace(b"+", b" ")) for k, v in zip(keys, values, strict=True)}
    return dict(zip(keys, percent_decode(joined).split("\0"), strict=True))


def percent_decode(raw: bytes) -> str:
    """Decode %XX escapes and then UTF-8 (strict). The fast path rewrites %XX as \\xXX and lets the
    C ``unicode_escape`` codec do the work; stray '%' signs fall back to the lenient stdlib decoder."""
    if b"%" not in raw:
        return raw.decode("utf-8")
    try:
        latin = raw.replace(b"\\", b"\\\\").replace(b"%", b"\\x").decode("unicode_escape")
    except UnicodeDecodeError:
        return unquote_to_bytes(raw).decode("utf-8")
    return latin.encode("latin-1").decode("utf-8")


def _cookie_headers(outcome: Outcome) -> list[tuple[bytes, bytes]]:
    headers = [(b"set-cookie", c.encode("latin-1")) for c in outcome.cookies]
    if outcome.reason is not None:
        headers.append((IGNORED_HEADER, outcome.reason.encode("ascii")))
    return headers


class PixelEndpoint:
    """GET /p.gif — the classic image beacon."""

    def __init__(self, ingest: Ingest, resolver: ClientResolver, channel: str = "pixel") -> None:
        self.ingest = ingest
        self.resolver = resolver
        self.channel = channel

    def outcome(self, query: bytes, headers: dict[str, str], peer: str, secure: bool) -> Outcome:
        """What became of the hit in ``query`` (the raw query string) sent with these headers."""
        if len(query) > MAX_QUERY:
            return self.ingest.ignore("too-large")
        try:
            fields = parse_query(query)
        except UnicodeDecodeError:
            return self.ingest.ignore("invalid-encoding")
        except TooManyFields:
            return self.ingest.ignore("too-many-fields")
        try:
            hit = build_hit(
                app=fields.get("app"),
                url=fields.get("url"),
                path=fields.get("path"),
                title=fields.get("title"),
                referrer=fields.get("referrer"),
                platform=fields.get("platform"),
                language=fields.get("language"),
                screensize=fields.get("screensize"),
                pixelratio=fields.get("pixelratio"),
                event=fields.get("event"),
                props=decode_props_param(fields.get("props")),
                channel=self.channel,
                page_header=headers.get("referer"),
            )
        except FieldError as exc:
            return self.ingest.ignore(exc.reason)
        ctx = self.resolver.resolve(peer, secure, headers)
        ctx.client_visitor = fields.get("vid")
        ctx.client_session = fields.get("sid")
        return self.ingest.process(hit, ctx)

    def safe_outcome(
        self, query: bytes, headers: dict[str, str], peer: str, secure: bool
    ) -> Outcome:
        try:
            return self.outcome(query, headers, peer, secure)
        except Exception:  # the pixel never breaks a page: a bug here still answers the GIF
            log.exception("pixel hit failed")
            return self.ingest.ignore("internal-error")

    def scope_outcome(self, scope: Scope) -> Outcome:
        client = scope.get("client")
        return self.safe_outcome(
            scope.get("query_string", b""),
            scope_headers(scope),
            client[0] if client else "",
            scope.get("scheme") == "https",
        )

    def response(
        self,
        head_only: bool,
        query: bytes,
        headers: dict[str, str],
        peer: str,
        secure: bool,
        extra_headers: list[tuple[bytes, bytes]],
    ) -> bytes:
        """The whole HTTP/1.1 response, for servers that can write it at once (see footfall.server)."""
        outcome = self.safe_outcome(query, headers, peer, secure)
        head = NO_CACHE_HEAD
        if outcome.cookies or outcome.reason is not None:
            head += b"".join(b"%s: %s\r\n" % pair for pair in _cookie_headers(outcome))
        if extra_headers:
            head += b"".join(b"%s: %s\r\n" % pair for pair in extra_headers)
        return b"HTTP/1.1 200 OK\r\n" + head + (b"\r\n" if head_only else b"\r\n" + TRANSPARENT_GIF)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        outcome = self.scope_outcome(scope)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": NO_CACHE_HEADERS + _cookie_headers(outcome),
            }
        )
        await send({"type": "http.response.body", "body": TRANSPARENT_GIF})


_payload_decoder = msgspec.json.Decoder(EventPayload)


class EventEndpoint:
    """POST /api/event — JSON hits from the tracker, navigator.sendBeacon or any HTTP client."""

    def __init__(self, ingest: Ingest, resolver: ClientResolver, max_body: int = 65_536) -> None:
        self.ingest = ingest
        self.resolver = resolver
        self.max_body = max_body

    async def _json(
        self, send: Any, status: int, body: dict[str, Any], extra: list[tuple[bytes, bytes]]
    ) -> None:
        data = msgspec.json.encode(body)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(data)).encode()),
            (b"cache-control", b"no-store"),
            *extra,
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": data})

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        headers = scope_headers(scope)
        cors = cors_headers(headers)
        if scope["method"] == "OPTIONS":
            await answer_preflight(send, cors, b"POST, OPTIONS")
            return
        declared = headers.get("content-length", "")
        if (whole_number(declared) or 0) > self.max_body:
            await self._json(send, 413, {"error": f"body larger than {self.max_body} bytes"}, cors)
            return
        body = await read_body(receive, self.max_body)
        if body is None:
            await self._json(send, 413, {"error": f"body larger than {self.max_body} bytes"}, cors)
            return
        try:
            payload = decode_json(body, _payload_decoder)
            plausible = decode_plausible(body) if payload.app is None else None
        except msgspec.ValidationError as exc:
            plausible = _plausible_or_none(body)  # e.g. Plausible's props as a JSON string
            if plausible is None:
                await self._json(send, 400, {"error": f"invalid field: {exc}"}, cors)
                return
        except JsonError as exc:
            await self._json(send, 400, {"error": str(exc)}, cors)
            return
        if plausible is not None:
            await self._plausible(scope, send, headers, cors, plausible)
            return
        try:
            hit = build_hit(
                app=payload.app,
                url=payload.url,
                path=payload.path,
                title=payload.title,
                referrer=payload.referrer,
                platform=payload.platform,
                language=payload.language,
                screensize=payload.screensize,
                pixelratio=payload.pixelratio,
                event=payload.event,
                props=payload.props,
                channel="api",
                page_header=headers.get("referer"),
            )
        except FieldError as exc:
            outcome = self.ingest.ignore(exc.reason)
        else:
            ctx = self.resolver.context(scope, headers)
            ctx.client_visitor = payload.vid
            ctx.client_session = payload.sid
            outcome = self.ingest.process(hit, ctx)
        refused = unavailable([outcome.reason] if outcome.reason else [])
        if refused is not None:
            await self._json(send, 503, refused, [*cors, RETRY_AFTER_HEADER])
            return
        body_out: dict[str, Any] = (
            {"status": "accepted"}
            if outcome.reason is None
            else {"status": "ignored", "reason": outcome.reason}
        )
        await self._json(send, 202, body_out, cors + _cookie_headers(outcome))

    async def _plausible(
        self,
        scope: Scope,
        send: Any,
        headers: dict[str, str],
        cors: list[tuple[bytes, bytes]],
        payload: PlausiblePayload,
    ) -> None:
        """Store a Plausible payload once for each app its domains name, and answer as Plausible
        does: 202 ``ok``, with the reasons of hits not stored in X-Footfall-Ignored."""
        try:
            outcomes = store_plausible(payload, self.ingest, self.resolver, scope, headers)
        except PayloadError as exc:
            await self._json(send, 400, {"error": str(exc)}, cors)
            return
        reasons = list(dict.fromkeys(o.reason for o in outcomes if o.reason is not None))
        refused = unavailable(reasons)
        if refused is not None:
            await self._json(send, 503, refused, [*cors, RETRY_AFTER_HEADER])
            return
        extra = [
            *cors,
            *(
                (b"set-cookie", c.encode("latin-1"))
                for c in next((o.cookies for o in outcomes if o.cookies), [])
            ),
        ]
        if reasons:
            extra.append((IGNORED_HEADER, ", ".join(reasons).encode("ascii")))
        await send(
            {
                "type": "http.response.start",
                "status": 202,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", b"2"),
                    (b"cache-control", b"no-store"),
                    *extra,
                ],
            }
        )
        await send({"type": "http.response.body", "body": b"ok"})


def _plausible_or_none(body: bytes) -> PlausiblePayload | None:
    """The Plausible payload in a body footfall's own struct refused, or None."""
    try:
        return decode_plausible(body)
    except (msgspec.ValidationError, JsonError):
        return None
