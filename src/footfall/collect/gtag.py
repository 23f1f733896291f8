"""GA4's client-side collection on ``GET|POST /g/collect``: what gtag.js (and Google Tag Manager's
GA4 tag) sends from the browser, pointed at footfall instead of Google.

The request's query string carries the parameters shared by its events; a POST body may carry
several events, one query string per line (``\\r\\n`` or ``\\n``), each line's parameters adding to
and overriding the URL's. Without a body the URL is one event. Parameter by parameter
(docs/collect.md; the format as documented by public references of the protocol, e.g. d8a's
``docs/articles/tracking-protocols/ga4-gtag.md``, and as gtag.js sends it):

- ``v=2`` is required; ``tid`` (``G-XXXX``) names the app by an alias (``footfall apps alias APP
  G-XXXX``) or its UUID, as ``measurement_id`` does on /mp/collect.
- ``en`` → the event; ``page_view`` → ``pageview``. ``user_engagement`` (gtag's engagement-time
  ping when a page is left) stores nothing: footfall keeps no engagement time (reason
  ``gtag-user-engagement``), as it keeps none of Umami's engagement pings.
- ``dl``, ``dr``, ``dt``, ``ul``, ``sr`` → url, referrer, title, language, screen.
- ``ep.<name>`` → props ``<name>`` (text); ``epn.<name>`` → props ``<name>`` when it is a number
  (else left out); ``cu`` → props ``currency``; items (``pr1``, ``pr2``, ... as
  ``id…~nm…~pr…~qt…``) → props ``item_count`` and ``items`` (footfall.collect.items). footfall's
  props caps apply (30 keys, 64-character names, 256-character values).
- Visitors follow the app's identity mode, as for every parameter a browser sends: in
  ``first-party`` mode ``uid`` or else ``cid`` (the ``_ga`` cookie's id) is the visitor, hashed as
  on /mp/collect; in ``cookieless`` and ``cookie`` mode the mode decides and ``cid`` is not read.
- Not read: ``sid``, ``sct``, ``seg``, ``_et``, ``_s``, ``_p``, ``_ss``, ``_fv``, ``up.*``/``upn.*``,
  consent and client-hint parameters. Hits are timed on arrival.

There is no API secret on client-side collection (browsers cannot keep one), so an app with
``require_api_key`` refuses /g/collect: ``403`` with reason ``invalid-api-secret``.

Answers, as Google's: ``204`` without a body once the events are taken, also when some were not
stored (their reasons in ``X-Footfall-Ignored``). ``400`` (JSON ``error`` naming the parameter)
without ``v=2``, without ``tid`` or for a ``tid`` no app has; ``413`` past ``max_body`` or
``MAX_EVENTS`` lines; ``503`` with ``Retry-After`` when the spool refuses. Never a 500.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import msgspec

from footfall.collect.endpoints import (
    IGNORED_HEADER,
    MAX_QUERY,
    RETRY_AFTER_HEADER,
    answer_preflight,
    cors_headers,
    read_body,
    unavailable,
)
from footfall.collect.fields import FieldError, build_hit
from footfall.collect.items import MAX_ITEMS, Item, gtag_item, items_props, number_text
from footfall.collect.mp import MAX_CLIENT_ID, InvalidHit, parse_form, visitor_key
from footfall.collect.mp_endpoints import send_json
from footfall.collect.request import ClientResolver, scope_headers
from footfall.ingest import Ingest, Outcome
from footfall.model import App, Context, Hit

log = logging.getLogger("footfall.collect")

CHANNEL = "gtag"
VERSION = "2"
MAX_EVENTS = 50  # lines of one request's body
MAX_FIELDS = 300  # parameters of the URL or of one line (items come one parameter each)
NOT_STORED_EVENTS = {"user_engagement": "gtag-user-engagement"}
_ITEM_PARAM = re.compile(r"pr([1-9][0-9]{0,2})")

Scope = dict[str, Any]
Fields = dict[str, str]


class RequestRefused(Exception):
    """A request refused as a whole: the answer's status, its error text and the counted reason."""

    def __init__(self, status: int, error: str, reason: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.reason = reason


def event_props(fields: Fields) -> dict[str, object] | None:
    """The props of one event: ``ep.*`` as text, ``epn.*`` when numbers, ``cu`` as
    ``currency``, ``prN`` items as ``item_count``/``items``. The first value of a name wins."""
    props: dict[str, object] = {}
    items: list[tuple[int, Item]] = []
    for key, value in fields.items():
        if key.startswith("ep.") and len(key) > 3 and value.strip():
            props.setdefault(key[3:], value.strip())
        elif key.startswith("epn.") and len(key) > 4:
            number = number_text(value.strip())
            if number is not None:
                props.setdefault(key[4:], number)
        elif key == "cu" and value.strip():
            props.setdefault("currency", value.strip())
        elif (match := _ITEM_PARAM.fullmatch(key)) is not None:
            item = gtag_item(value)
            if item is not None:
                items.append((int(match.group(1)), item))
    if items:
        items.sort(key=lambda pair: pair[0])
        props.update(items_props([item for _, item in items[:MAX_ITEMS]]))
    return props or None


def body_lines(body: bytes) -> list[bytes]:
    """The events of a POST body, one query string a line; blank lines skipped."""
    return [line.strip(b"\r") for line in body.split(b"\n") if line.strip()]


class GtagTracker:
    """Turns the parameters of one gtag event into a stored hit, or says why it is not stored."""

    def __init__(self, ingest: Ingest, resolver: ClientResolver) -> None:
        self.ingest = ingest
        self.resolver = resolver

    def app_for(self, fields: Fields) -> App:
        """The app of a request (its URL's ``v`` and ``tid``). Raises RequestRefused."""
        version = fields.get("v", "").strip()
        if version != VERSION:
            why = "required" if not version else f"{version!r} is not protocol version {VERSION}"
            raise RequestRefused(400, f"v: {why}", "invalid-version")
        tid = fields.get("tid", "").strip()
        if not tid:
            raise RequestRefused(400, "tid: required", "missing-app")
        app = self.ingest.apps.resolve(tid)
        if app is None:
            raise RequestRefused(400, f"tid: no app has the id or alias {tid!r}", "unknown-app")
        if app.require_api_key:
            raise RequestRefused(
                403,
                "this app requires its API secret (require_api_key); /g/collect comes from"
                " browsers and carries none: send server-side to /mp/collect instead",
                "invalid-api-secret",
            )
        return app

    def hit(self, app: App, fields: Fields, headers: dict[str, str]) -> Hit | str:
        """The hit of one event's parameters, or the reason it is not stored."""
        name = fields.get("en", "").strip()
        if not name:
            return "gtag-missing-event-name"
        if name in NOT_STORED_EVENTS:
            return NOT_STORED_EVENTS[name]
        try:
            hit = build_hit(
                app=app.id,
                url=fields.get("dl"),
                title=fields.get("dt"),
                referrer=fields.get("dr"),
                language=fields.get("ul"),
                screensize=fields.get("sr"),
                event="pageview" if name == "page_view" else name,
                props=event_props(fields),
                channel=CHANNEL,
                page_header=headers.get("referer"),
            )
        except FieldError as exc:
            return exc.reason
        hit.ts = self.ingest.clock.now_ms()
        client_id = (fields.get("uid") or fields.get("cid") or "").strip()
        if app.identity == "first-party" and client_id and len(client_id) <= MAX_CLIENT_ID:
            hit.visitor_id = visitor_key(app, client_id)
            hit.identity = "client-id"
        return hit

    def track(self, app: App, fields: Fields, ctx: Context, headers: dict[str, str]) -> Outcome:
        """Store one event (counted either way); a bug is counted as ``internal-error``."""
        try:
            hit = self.hit(app, fields, headers)
            if isinstance(hit, str):
                return self.ingest.ignore(hit)
            return self.ingest.process(hit, msgspec.structs.replace(ctx))  # a copy per event
        except Exception:  # the page's analytics never get a 500
            log.exception("gtag event failed")
            return self.ingest.ignore("internal-error")


class GtagEndpoint:
    """GET|POST /g/collect — gtag.js, Google Tag Manager's GA4 tag, or any client of that format."""

    def __init__(self, tracker: GtagTracker, max_body: int = 65_536) -> None:
        self.tracker = tracker
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        headers = scope_headers(scope)
        cors = cors_headers(headers)
        if scope["method"] == "OPTIONS":
            await answer_preflight(send, cors, b"GET, POST, OPTIONS")
            return
        ingest = self.tracker.ingest
        query: bytes = scope.get("query_string", b"")
        body = b""
        if scope["method"] == "POST":
            raw = await read_body(receive, self.max_body)
            if raw is None:
                ingest.ignore("too-large")
                too_big = {"error": f"body larger than {self.max_body} bytes"}
                await send_json(send, 413, too_big, tuple(cors))
                return
            body = raw
        lines = body_lines(body)
        if len(query) > MAX_QUERY or len(lines) > MAX_EVENTS:
            ingest.ignore("too-large")
            error = f"more than {MAX_EVENTS} events" if lines else f"URL over {MAX_QUERY} bytes"
            await send_json(send, 413, {"error": error}, tuple(cors))
            return
        try:
            shared = self._fields(query)
            app = self.tracker.app_for(shared)
            events = [{**shared, **self._fields(line)} for line in lines] or [shared]
        except RequestRefused as exc:
            ingest.ignore(exc.reason)
            said = (*cors, (IGNORED_HEADER, exc.reason.encode("ascii")))
            await send_json(send, exc.status, {"error": exc.error}, said)
            return
        ctx = self.tracker.resolver.context(scope, headers)
        outcomes = [self.tracker.track(app, fields, ctx, headers) for fields in events]
        reasons = [o.reason for o in outcomes if o.reason is not None]
        refused = unavailable(reasons)
        if refused is not None:
            await send_json(send, 503, refused, (*cors, RETRY_AFTER_HEADER))
            return
        cookies = next((o.cookies for o in outcomes if o.cookies), [])  # cookie identity mode
        extra = [*cors, *((b"set-cookie", c.encode("latin-1")) for c in cookies)]
        if reasons:
            extra.append((IGNORED_HEADER, ", ".join(dict.fromkeys(reasons)).encode("ascii")))
        await send({"type": "http.response.start", "status": 204, "headers": extra})
        await send({"type": "http.response.body", "body": b""})

    @staticmethod
    def _fields(raw: bytes) -> Fields:
        """The parameters of the URL or a line. Raises RequestRefused (not UTF-8, too many)."""
        try:
            return parse_form(raw, MAX_FIELDS)
        except InvalidHit as exc:
            raise RequestRefused(400, exc.messages[0].description, exc.reason) from None
