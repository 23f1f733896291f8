"""Matomo's tracking HTTP API on ``GET|POST /matomo.php`` and ``/piwik.php``: its parameters, how
they become a footfall hit, and the endpoint that answers them.

One request's parameters come in the query string, a form body, or both (the query string wins,
as in Matomo). A POST body that is a JSON object is a bulk request, ``{"requests": ["?idsite=1&
rec=1&…", …], "token_auth": …}``. Parameter by parameter (docs/collect.md):

- ``idsite`` names the app: its UUID, or an alias (``footfall apps alias APP 3`` for Matomo site 3).
- ``rec=1`` is required; without it nothing is stored (``matomo-no-rec``). ``ping=1`` (Matomo's
  heartbeat) stores nothing (``matomo-ping``).
- The kind of hit, in Matomo's order: ``download`` → event ``download`` with props ``url``;
  ``link`` → ``outbound`` with props ``url`` (the names footfall's tracker sends); ``e_c``+``e_a``
  → an event named ``e_a`` with props ``category``, ``action``, ``name`` (``e_n``), ``value``
  (``e_v``); ``search`` → ``search`` with props ``query``, ``category`` (``search_cat``), ``count``
  (``search_count``); ``idgoal`` → a goal conversion, an order or a cart update; otherwise a page
  view (product views keep their product). Custom dimensions and variables become props
  (footfall.collect.matomo_commerce).
- ``url``, ``action_name``, ``urlref``, ``res``, ``lang`` (else ``Accept-Language``'s first tag) →
  url, title, referrer, screen, language; ``ua`` stands in for ``User-Agent``.
- ``token_auth`` equal to the app's API secret lets ``cip`` (the visitor's address) and ``cdt`` (Unix
  seconds or ``YYYY-MM-DD HH:MM:SS`` UTC, at most 4 hours back) stand in for the connection's
  address and the arrival time; without it both are ignored. An app with ``require_api_key``
  takes only requests with its secret (``invalid-api-secret``).
- In the app's ``first-party`` identity mode ``uid`` or ``_id`` (Matomo's visitor id) is the
  visitor, as a Measurement Protocol ``cid`` is; in the other modes the mode decides.

Answers: one request gets the 1×1 GIF (``204`` with ``send_image=0``), whatever happened, with
``X-Footfall-Ignored`` naming why it was not stored. A bulk request gets ``200`` ``{"status":
"success", "tracked": N, "invalid": M}`` (``204`` with ``"send_image": 0``); ``tracked`` counts the
stored requests, ``invalid`` those refused for what they carry; ``400`` for a body that is not a
bulk request, ``413`` past ``max_body`` or ``MAX_BULK_REQUESTS``, ``503`` when the spool refuses.
"""

from __future__ import annotations

import ipaddress
import logging
import math
from datetime import UTC, datetime
from typing import Any, NamedTuple

import msgspec

from footfall.collect.endpoints import (
    IGNORED_HEADER,
    MAX_QUERY,
    RETRY_AFTER_HEADER,
    answer_preflight,
    cors_headers,
    read_capped,
    unavailable,
)
from footfall.collect.fields import FieldError, build_hit, number, whole_number
from footfall.collect.gif import NO_CACHE_HEADERS, TRANSPARENT_GIF
from footfall.collect.jsonbody import JsonError, decode_json
from footfall.collect.matomo_commerce import CommerceError, custom_props, goal_hit, product_view
from footfall.collect.mp import (
    MAX_CLIENT_ID,
    MAX_QUEUE_TIME_MS,
    InvalidHit,
    parse_form,
    secret_matches,
    visitor_key,
)
from footfall.collect.mp_endpoints import send_json
from footfall.collect.request import ClientResolver, scope_headers
from footfall.ingest import Ingest, Outcome
from footfall.model import App, Context, Hit, parse_uuid

log = logging.getLogger("footfall.collect")

MAX_REQUEST_BYTES = MAX_QUERY  # one request's parameters (query string and form body together)
MAX_BULK_REQUESTS = 100
MAX_CLOCK_SKEW_MS = 60_000  # a cdt this far ahead of footfall's clock is taken as now
CHANNEL = "matomo"
CDT_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S.%f")

Scope = dict[str, Any]
Fields = dict[str, str]


class Refused(Exception):
    """A request that is not stored for what it carries; ``invalid`` when Matomo would count it
    among a bulk request's invalid ones (not for ``rec`` missing or a ping)."""

    def __init__(self, reason: str, *, invalid: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.invalid = invalid


class Tracked(NamedTuple):
    outcome: Outcome
    invalid: bool  # refused for what the request carries


class BulkBody(msgspec.Struct, kw_only=True):
    """A Matomo bulk request: each request a URL or query string, or an object of parameters
    (booleans as PHP reads them: ``1``/``0``)."""

    requests: list[str | dict[str, str | int | float | bool | None]] | None = None
    token_auth: str | None = None
    send_image: int | bool | str | None = None


_bulk_decoder = msgspec.json.Decoder(BulkBody)


def bulk_fields(request: str | dict[str, str | int | float | bool | None]) -> Fields:
    """The parameters of one request of a bulk body. Raises Refused (too large, not UTF-8, too
    many parameters)."""
    if isinstance(request, dict):
        return {k: str(int(v)) if isinstance(v, bool) else str(v) for k, v in request.items()}
    return form_fields(request.partition("?")[2] if "?" in request else request)


def form_fields(raw: bytes | str) -> Fields:
    """The parameters in a query string or form body (first value wins). Raises Refused."""
    if len(raw) > MAX_REQUEST_BYTES:
        raise Refused("too-large")
    try:
        return parse_form(raw)
    except InvalidHit as exc:
        raise Refused(exc.reason) from None


def hit_kind(fields: Fields) -> tuple[str, dict[str, object] | None]:
    """The event name and props of a request, with its custom dimensions and variables."""
    event, props = _kind(fields)
    try:
        extra = product_view(fields) if event == "pageview" else {}
        extra.update(custom_props(fields))
    except CommerceError as exc:
        raise Refused(exc.reason) from None
    if extra:  # the hit's own props first: they are kept when there are more than props may hold
        props = dict(props or {})
        for key, value in extra.items():
            props.setdefault(key, value)
    return event, props


def _kind(fields: Fields) -> tuple[str, dict[str, object] | None]:
    """The event name and props of a request, in Matomo's order: download, outlink, event, site
    search, goal or e-commerce (footfall.collect.matomo_commerce), page view. Raises Refused for
    an event without its category or action, or a goal's bad number."""
    names = ("download", "link", "e_c", "e_a", "e_n", "e_v", "search", "search_cat", "search_count")
    v = {k: fields.get(k, "").strip() for k in names}
    if v["download"]:
        return "download", {"url": v["download"]}
    if v["link"]:
        return "outbound", {"url": v["link"]}
    if v["e_c"] or v["e_a"] or v["e_n"] or v["e_v"]:
        if not v["e_c"] or not v["e_a"]:
            raise Refused(f"matomo-missing-event-{'category' if not v['e_c'] else 'action'}")
        props = {"category": v["e_c"], "action": v["e_a"], "name": v["e_n"], "value": v["e_v"]}
        if v["e_v"] and number(v["e_v"]) is None:
            raise Refused("matomo-invalid-event-value")
        return v["e_a"], {k: p for k, p in props.items() if p}
    if v["search"]:
        props = {"query": v["search"], "category": v["search_cat"]}
        props["count"] = v["search_count"] if whole_number(v["search_count"]) is not None else ""
        return "search", {k: p for k, p in props.items() if p}
    try:
        commerce = goal_hit(fields)
    except CommerceError as exc:
        raise Refused(exc.reason) from None
    return commerce if commerce is not None else ("pageview", None)


def parse_cdt(value: str, now_ms: int) -> int:
    """The time ``cdt`` names, in ms: Unix seconds, or ``YYYY-MM-DD HH:MM:SS`` in UTC. Raises
    Refused when it is not a time, in the future (beyond a minute's skew) or older than 4 hours."""
    value = value.strip()
    parsed = number(value)
    if parsed is not None:
        seconds = parsed
    else:
        for fmt in CDT_FORMATS:
            try:
                seconds = datetime.strptime(value, fmt).replace(tzinfo=UTC).timestamp()
                break
            except ValueError:
                continue
        else:
            raise Refused("matomo-invalid-cdt") from None
    if not math.isfinite(seconds):
        raise Refused("matomo-invalid-cdt")
    ts = int(seconds * 1000)
    if ts > now_ms + MAX_CLOCK_SKEW_MS:
        raise Refused("matomo-invalid-cdt")
    if now_ms - ts > MAX_QUEUE_TIME_MS:
        raise Refused("matomo-cdt-too-old")
    return min(ts, now_ms)


def first_language(header: str) -> str | None:
    """The first tag of an ``Accept-Language`` header (``de-CH,de;q=0.9`` → ``de-CH``)."""
    tag = header.split(",")[0].split(";")[0].strip()
    return tag if tag and tag != "*" else None


class MatomoTracker:
    """Turns one Matomo request's parameters into a stored hit, or says why it is not stored."""

    def __init__(self, ingest: Ingest, resolver: ClientResolver) -> None:
        self.ingest = ingest
        self.resolver = resolver

    def find_app(self, idsite: str) -> App | None:
        """The app ``idsite`` names: by its UUID, else by an alias (an old Matomo site id)."""
        app_id = parse_uuid(idsite)
        app = self.ingest.apps.get(app_id) if app_id is not None else None
        return app or self.ingest.apps.by_alias(idsite)

    def track(self, fields: Fields, base: Context, bulk_token: str | None = None) -> Tracked:
        """Store the hit ``fields`` describe (``base``: the connection's context), or count why
        not. ``bulk_token``: the bulk body's ``token_auth``, for requests without their own."""
        try:
            hit, ctx = self.hit(fields, base, bulk_token)
        except Refused as exc:
            return Tracked(self.ingest.ignore(exc.reason), exc.invalid)
        return Tracked(self.ingest.process(hit, ctx), False)

    def hit(self, fields: Fields, base: Context, bulk_token: str | None) -> tuple[Hit, Context]:
        """The hit and its context. Raises Refused."""
        idsite = fields.get("idsite", "").strip()
        if not idsite:
            raise Refused("missing-app")
        app = self.find_app(idsite)
        if app is None:
            raise Refused("unknown-app")
        authenticated = secret_matches(app, fields.get("token_auth") or bulk_token)
        if app.require_api_key and not authenticated:
            raise Refused("invalid-api-secret")
        rec = fields.get("rec", "").strip()
        if (whole_number(rec) or 0) <= 0:
            raise Refused("matomo-no-rec", invalid=False)
        if fields.get("ping", "").strip() == "1":
            raise Refused("matomo-ping", invalid=False)
        event, props = hit_kind(fields)
        screen = fields.get("res", "").strip()
        language = fields.get("lang") or first_language(base.headers.get("accept-language", ""))
        try:
            hit = build_hit(
                app=app.id,
                url=fields.get("url"),
                title=fields.get("action_name"),
                referrer=fields.get("urlref"),
                language=language,
                screensize=None if screen.lower() == "unknown" else screen,
                event=event,
                props=props,
                channel=CHANNEL,
                page_header=base.headers.get("referer"),
                app_schemes=True,
            )
        except FieldError as exc:
            raise Refused(exc.reason) from None
        now = self.ingest.clock.now_ms()
        hit.ts = now
        ctx = Context(
            ip=base.ip,
            user_agent=fields.get("ua", "").strip() or base.user_agent,
            secure=base.secure,
            cookies=base.cookies,
            headers=base.headers,
        )
        if authenticated:
            cip = fields.get("cip", "").strip()
            if cip:
                try:
                    ctx.ip = str(ipaddress.ip_address(cip))
                except ValueError:
                    raise Refused("matomo-invalid-cip") from None
            if fields.get("cdt", "").strip():
                hit.ts = parse_cdt(fields["cdt"], now)
        client_id = (fields.get("uid") or fields.get("_id") or "").strip()
        if app.identity == "first-party" and client_id and len(client_id) <= MAX_CLIENT_ID:
            hit.visitor_id = visitor_key(app, client_id)
        return hit, ctx


async def send_no_content(send: Any, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": 204, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


def is_bulk(body: bytes) -> bool:
    """A POST body that is a JSON object: a bulk request (a form body never starts with ``{``)."""
    return body.lstrip()[:1] == b"{"


class MatomoEndpoint:
    """GET|POST /matomo.php and /piwik.php — Matomo's JavaScript tracker, its SDKs and clients."""

    def __init__(self, tracker: MatomoTracker, max_body: int = 65_536) -> None:
        self.tracker = tracker
        self.max_body = max_body

    def safe_track(self, fields: Fields, base: Context, bulk_token: str | None = None) -> Tracked:
        try:
            return self.tracker.track(fields, base, bulk_token)
        except Exception:  # a bug still answers: the GIF, or the bulk's counts
            log.exception("matomo request failed")
            return Tracked(self.tracker.ingest.ignore("internal-error"), False)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        headers = scope_headers(scope)
        cors = cors_headers(headers)
        if scope["method"] == "OPTIONS":
            await answer_preflight(send, cors, b"GET, POST, OPTIONS")
            return
        query: bytes = scope.get("query_string", b"")
        body, overflow = b"", False
        if scope["method"] == "POST":
            body, overflow = await read_capped(receive, self.max_body)
        if is_bulk(body):
            if overflow:
                too_big = {"error": f"bulk request larger than {self.max_body} bytes"}
                await send_json(send, 413, too_big, tuple(cors))
                return
            await self.bulk(body, scope, headers, cors, send)
            return
        base = self.tracker.resolver.context(scope, headers)
        try:
            if overflow:
                raise Refused("too-large")
            body = body.strip(b"\r\n")
            raw = b"&".join(p for p in (query, body) if p)  # the query string's values win
            fields = form_fields(raw)
        except Refused as exc:
            fields = {}
            tracked = Tracked(self.tracker.ingest.ignore(exc.reason), True)
        else:
            tracked = self.safe_track(fields, base)
        outcome = tracked.outcome
        extra = [*cors, *((b"set-cookie", c.encode("latin-1")) for c in outcome.cookies)]
        if outcome.reason is not None:
            extra.append((IGNORED_HEADER, outcome.reason.encode("ascii")))
        if fields.get("send_image") == "0":
            await send_no_content(send, extra)
            return
        await send(
            {"type": "http.response.start", "status": 200, "headers": NO_CACHE_HEADERS + extra}
        )
        await send({"type": "http.response.body", "body": TRANSPARENT_GIF})

    async def bulk(
        self,
        body: bytes,
        scope: Scope,
        headers: dict[str, str],
        cors: list[tuple[bytes, bytes]],
        send: Any,
    ) -> None:
        """Track each request of a bulk body and answer with the counts, as Matomo does."""
        try:
            decoded: BulkBody = decode_json(body, _bulk_decoder)
        except msgspec.ValidationError as exc:
            await send_json(send, 400, {"error": f"invalid field: {exc}"}, tuple(cors))
            return
        except JsonError as exc:
            await send_json(send, 400, {"error": str(exc)}, tuple(cors))
            return
        if decoded.requests is None:
            await send_json(send, 400, {"error": "missing field: requests"}, tuple(cors))
            return
        if len(decoded.requests) > MAX_BULK_REQUESTS:
            too_many = {"error": f"more than {MAX_BULK_REQUESTS} requests in a bulk request"}
            await send_json(send, 413, too_many, tuple(cors))
            return
        base = self.tracker.resolver.context(scope, headers)
        results: list[Tracked] = []
        for request in decoded.requests:
            try:
                fields = bulk_fields(request)
            except Refused as exc:
                results.append(Tracked(self.tracker.ingest.ignore(exc.reason), True))
                continue
            results.append(self.safe_track(fields, base, decoded.token_auth))
        reasons = [r.outcome.reason for r in results if r.outcome.reason is not None]
        refused = unavailable(reasons)
        if refused is not None:
            await send_json(send, 503, refused, (*cors, RETRY_AFTER_HEADER))
            return
        extra = list(cors)
        if reasons:
            extra.append((IGNORED_HEADER, ", ".join(dict.fromkeys(reasons)).encode("ascii")))
        if str(decoded.send_image).lower() in ("0", "false"):
            await send_no_content(send, extra)
            return
        answer = {
            "status": "success",
            "tracked": sum(r.outcome.reason is None for r in results),
            "invalid": sum(r.invalid for r in results),
        }
        await send_json(send, 200, answer, tuple(extra))
