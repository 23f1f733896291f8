"""Google Measurement Protocol v1 (Universal Analytics) receiver: /collect, /batch, /debug/collect.

Code that used to post hits to Google keeps working with only the URL changed. ``tid`` names the
app (its UUID, or an alias such as ``UA-12345-6``); ``cid``/``uid`` (any string, hashed with a key
per app) become the visitor; ``uip``/``ua`` stand in for the address and user agent of the
connection, which is usually the tracked site's own server. ``dh`` may be a URL (its host is
taken); ``p`` is the path when ``dp`` is absent; ``transaction`` and ``item`` hits are stored as
events of those names with their fields as props (``ECOMMERCE_PROPS``). See docs/server-side.md.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from footfall.apps import AppRegistry
from footfall.clock import Clock
from footfall.collect.fields import FieldError, build_hit, decode_props_param, whole_number
from footfall.collect.items import number_text
from footfall.collect.request import ClientResolver
from footfall.ingest import Ingest, Outcome
from footfall.model import App, Context, Hit
from footfall.schema import cap_text

Scope = dict[str, Any]

MAX_HIT_BYTES = 8_192  # one hit (query string or body), as Google's limit
MAX_BATCH_BYTES = 16_384
MAX_BATCH_HITS = 20
MAX_FIELDS = 100
MAX_CLIENT_ID = 256
MAX_QUEUE_TIME_MS = 4 * 3_600_000
HIT_TYPES = frozenset(
    {"pageview", "screenview", "event", "transaction", "item", "social", "exception", "timing"}
)
CAMPAIGN = {
    "cn": "utm_campaign",
    "cs": "utm_source",
    "cm": "utm_medium",
    "ck": "utm_term",
    "cc": "utm_content",
}
# transaction and item hits: the parameters kept, and the props they become (GA4's names)
ECOMMERCE_PROPS = {
    "transaction": {
        "ti": "transaction_id",
        "ta": "affiliation",
        "tr": "revenue",
        "ts": "shipping",
        "tt": "tax",
        "cu": "currency",
    },
    "item": {
        "ti": "transaction_id",
        "in": "item_name",
        "ip": "price",
        "iq": "quantity",
        "ic": "item_id",
        "iv": "item_category",
        "cu": "currency",
    },
}
AMOUNT_PARAMS = frozenset({"tr", "ts", "tt", "ip"})
# footfall's own additions (Google ignores unknown parameters): the Tracker and middleware use them
CHANNELS = frozenset({"mp", "server"})
_FIELD_PARAMS = {"invalid-url": "dl", "invalid-screensize": "sr", "invalid-pixelratio": "sr"}


@dataclass(frozen=True, slots=True)
class Message:
    """One problem with a hit: the parameter it concerns and the ignore reason it maps to."""

    parameter: str
    code: str  # VALUE_INVALID, VALUE_REQUIRED, ...
    description: str
    reason: str  # X-Footfall-Ignored value

    def as_json(self) -> dict[str, str]:
        return {
            "messageType": "ERROR",
            "description": self.description,
            "messageCode": self.code,
            "parameter": self.parameter,
        }


class InvalidHit(Exception):
    def __init__(self, messages: list[Message]) -> None:
        super().__init__(messages[0].description)
        self.messages = messages

    @property
    def reason(self) -> str:
        return self.messages[0].reason


def required(parameter: str, reason: str) -> Message:
    return Message(
        parameter,
        "VALUE_REQUIRED",
        f"The parameter '{parameter}' is required and was not given.",
        reason,
    )


def invalid(parameter: str, reason: str, why: str) -> Message:
    return Message(
        parameter,
        "VALUE_INVALID",
        f"The value of parameter '{parameter}' is invalid: {why}",
        reason,
    )


def visitor_key(app: App, client_id: str) -> str:
    """The stored visitor id for a client id: a keyed hash, so e.g. an IP used as cid is not kept."""
    key = (app.api_secret or app.id).encode()[:64]
    data = f"{app.id}\x00{client_id}".encode()
    return hashlib.blake2b(data, key=key, digest_size=16).hexdigest()


def secret_matches(app: App, given: str | None) -> bool:
    return bool(app.api_secret and given) and hmac.compare_digest(
        app.api_secret.encode(), (given or "").encode()
    )


def bearer_token(headers: dict[str, str]) -> str | None:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


def parse_form(raw: bytes | str, max_fields: int = MAX_FIELDS) -> dict[str, str]:
    """Form fields (first value wins). Raises InvalidHit for undecodable input or more than
    ``max_fields`` fields."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        pairs = parse_qsl(text, encoding="utf-8", errors="strict", max_num_fields=max_fields)
    except UnicodeDecodeError:
        raise InvalidHit(
            [invalid("payload", "invalid-encoding", "not UTF-8 after percent-decoding")]
        ) from None
    except ValueError:
        raise InvalidHit(
            [invalid("payload", "too-many-fields", f"more than {max_fields} parameters")]
        ) from None
    fields: dict[str, str] = {}
    for key, value in pairs:
        fields.setdefault(key, value)
    return fields


def document_host(value: str) -> str | None:
    """The host ``dh`` names, lower-case: ``memegen.example``, or the host of a URL given in its
    place (``http://memegen.example``, as universal-analytics' README shows); None when empty."""
    value = value.strip()
    if "://" in value:
        try:
            return urlsplit(value).hostname or None
        except ValueError:
            return None
    return value.partition("/")[0].lower() or None


def ecommerce_props(
    hit_type: str, fields: dict[str, str], errors: list[Message]
) -> dict[str, object] | None:
    """The props of a ``transaction`` or ``item`` hit (``ECOMMERCE_PROPS``); ``ti`` is required by
    both and ``in`` by an item, the amounts must be numbers and ``iq`` a whole number."""
    if not fields.get("ti", "").strip():
        errors.append(required("ti", "missing-transaction-id"))
    if hit_type == "item" and not fields.get("in", "").strip():
        errors.append(required("in", "missing-item-name"))
    props: dict[str, object] = {}
    for param, name in ECOMMERCE_PROPS[hit_type].items():
        value = fields.get(param, "").strip()
        if not value:
            continue
        if param in AMOUNT_PARAMS and number_text(value) is None:
            errors.append(invalid(param, "invalid-amount", "must be a number"))
        elif param == "iq" and whole_number(value, signed=True) is None:
            errors.append(invalid(param, "invalid-quantity", "must be a whole number"))
        else:
            props[name] = value
    return props or None


@dataclass(slots=True)
class ParsedHit:
    app: App
    hit: Hit  # app_id, ts, event and page fields filled; visitor and session not yet
    client_id: str
    ip: str | None  # uip
    user_agent: str | None  # ua


class V1Parser:
    """Turns one hit's parameters into a Hit, collecting every problem (for /debug/collect)."""

    def __init__(self, apps: AppRegistry, clock: Clock) -> None:
        self.apps = apps
        self.clock = clock

    def _app(self, fields: dict[str, str], bearer: str | None, errors: list[Message]) -> App | None:
        tid = fields.get("tid", "").strip()
        if not tid:
            errors.append(required("tid", "missing-app"))
            return None
        app = self.apps.resolve(tid)
        if app is None:
            errors.append(invalid("tid", "unknown-app", f"no app has the id or alias {tid!r}"))
            return None
        if app.require_api_key and not secret_matches(app, fields.get("api_secret") or bearer):
            errors.append(
                invalid(
                    "api_secret",
                    "invalid-api-secret",
                    "this app requires its API secret (api_secret or Authorization: Bearer)",
                )
            )
        return app

    def parse(self, fields: dict[str, str], bearer: str | None = None) -> ParsedHit:
        errors: list[Message] = []
        if fields.get("v", "").strip() != "1":
            errors.append(
                required("v", "invalid-version")
                if "v" not in fields
                else invalid("v", "invalid-version", "the protocol version must be 1")
            )
        app = self._app(fields, bearer, errors)
        client_id = (fields.get("uid") or fields.get("cid") or "").strip()
        if not client_id:
            errors.append(required("cid", "missing-client-id"))
        elif len(client_id) > MAX_CLIENT_ID:
            errors.append(
                invalid(
                    "uid" if fields.get("uid") else "cid",
                    "invalid-client-id",
                    f"longer than {MAX_CLIENT_ID} characters",
                )
            )
        hit_type = fields.get("t", "").strip().lower()
        if not hit_type:
            errors.append(required("t", "missing-hit-type"))
        elif hit_type not in HIT_TYPES:
            errors.append(invalid("t", "invalid-hit-type", f"unknown hit type {hit_type!r}"))

        event, props = self._event(hit_type, fields, errors)
        ts = self._timestamp(fields, errors)
        ip = fields.get("uip", "").strip() or None
        if ip is not None:
            try:
                ip = str(ipaddress.ip_address(ip))
            except ValueError:
                errors.append(invalid("uip", "invalid-uip", "not an IP address"))
        hit = self._page(fields, event, props, errors)
        if errors or app is None or hit is None:
            raise InvalidHit(errors)
        hit.app_id = app.id
        hit.ts = ts
        hit.identity = "client-id"
        hit.channel = fields["ff_channel"] if fields.get("ff_channel") in CHANNELS else "mp"
        status = whole_number(fields.get("ff_status", ""))
        if status is not None and 100 <= status <= 599:
            hit.status = status
        for param, column in CAMPAIGN.items():
            value = fields.get(param, "").strip()
            if value:
                setattr(hit, column, cap_text(column, value))
        ua = fields.get("ua", "").strip() or None
        return ParsedHit(app=app, hit=hit, client_id=client_id, ip=ip, user_agent=ua)

    @staticmethod
    def _event(
        hit_type: str, fields: dict[str, str], errors: list[Message]
    ) -> tuple[str, dict[str, object] | None]:
        if hit_type in ECOMMERCE_PROPS:
            return hit_type, ecommerce_props(hit_type, fields, errors)
        if hit_type != "event":
            name = hit_type or "pageview"
            screen = fields.get("cd", "").strip()
            return name, ({"screen_name": screen} if hit_type == "screenview" and screen else None)
        props: dict[str, object] = {}
        if fields.get("ec", "").strip():
            props["category"] = fields["ec"].strip()
        elif fields.get("ff_channel") != "server":  # footfall's own Tracker may omit it
            errors.append(required("ec", "missing-event-category"))
        action = fields.get("ea", "").strip()
        if not action:
            errors.append(required("ea", "missing-event-action"))
        if fields.get("el", "").strip():
            props["label"] = fields["el"].strip()
        value = fields.get("ev", "").strip()
        if value:
            if whole_number(value) is None:
                errors.append(invalid("ev", "invalid-event-value", "must be a whole number ≥ 0"))
            else:
                props["value"] = value
        extra = decode_props_param(fields.get("ff_props"))
        if isinstance(extra, dict):
            props.update(extra)
        return action, props or None

    def _timestamp(self, fields: dict[str, str], errors: list[Message]) -> int:
        now = self.clock.now_ms()
        qt = fields.get("qt", "").strip()
        if not qt:
            return now
        queued = whole_number(qt)
        if queued is None:
            errors.append(invalid("qt", "invalid-queue-time", "must be milliseconds ≥ 0"))
            return now
        if queued > MAX_QUEUE_TIME_MS:
            errors.append(
                invalid("qt", "queue-time-too-long", "hits can be back-dated 4 hours at most")
            )
            return now
        return now - queued

    @staticmethod
    def _page(
        fields: dict[str, str], event: str, props: dict[str, object] | None, errors: list[Message]
    ) -> Hit | None:
        url = fields.get("dl", "").strip() or None
        path_param = "dp" if fields.get("dp") else "p"
        path = fields.get(path_param) or None
        host = document_host(fields.get("dh", ""))
        if path is not None and not path.startswith("/"):
            errors.append(invalid(path_param, "invalid-path", "a document path starts with '/'"))
            return None
        if url is None and host is not None:
            url = f"https://{host}{path or '/'}"
        try:
            return build_hit(
                app=None,
                url=url,
                path=path,
                title=fields.get("dt"),
                referrer=fields.get("dr"),
                language=fields.get("ul"),
                screensize=fields.get("sr"),
                event=event,
                props=props,
                channel="mp",
            )
        except FieldError as exc:
            param = "dh" if exc.reason == "invalid-url" and "dl" not in fields else None
            param = param or _FIELD_PARAMS.get(exc.reason, "payload")
            errors.append(invalid(param, exc.reason, "not a usable value"))
            return None


class V1Receiver:
    """Parses, then hands a valid hit to the pipeline with its own visitor, session and context."""

    def __init__(
        self,
        ingest: Ingest,
        resolver: ClientResolver,
        parser: V1Parser,
    ) -> None:
        self.ingest = ingest
        self.resolver = resolver
        self.parser = parser

    def record(self, parsed: ParsedHit, base: Context) -> Outcome:
        hit = parsed.hit
        hit.visitor_id = visitor_key(parsed.app, parsed.client_id)
        ctx = Context(
            ip=parsed.ip or base.ip,
            user_agent=parsed.user_agent or base.user_agent,
            secure=base.secure,
            headers=base.headers,
            server_side=True,
        )
        return self.ingest.process(hit, ctx)

    def take(self, raw: bytes | str, scope: Scope, headers: dict[str, str]) -> Outcome:
        """Parse and record one hit; the outcome says why it was ignored, if it was."""
        if len(raw) > MAX_HIT_BYTES:
            return self.ingest.ignore("too-large")
        try:
            parsed = self.parser.parse(parse_form(raw), bearer_token(headers))
        except InvalidHit as exc:
            return self.ingest.ignore(exc.reason)
        return self.record(parsed, self.resolver.context(scope, headers))
