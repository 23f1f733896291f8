"""GA4 Measurement Protocol receiver: POST /mp/collect and /debug/mp/collect.

``measurement_id`` selects the app like v1's ``tid`` (UUID or alias such as ``G-ABC123``) and
``api_secret`` must be that app's secret. The JSON body carries ``client_id`` (required),
``user_id``, ``timestamp_micros`` and up to 25 ``events`` of ``{name, params}``. Param values are
strings or numbers, except ``items`` (e-commerce events): a list of at most 200 objects of strings
and numbers, kept as the props ``item_count`` and ``items`` (footfall.collect.items).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from footfall.apps import AppRegistry
from footfall.clock import Clock
from footfall.collect.endpoints import IGNORED_HEADER, RETRY_AFTER_HEADER, read_body, unavailable
from footfall.collect.fields import FieldError, build_hit, whole_number
from footfall.collect.items import MAX_ITEM_PARAMS, MAX_ITEMS, Item, items_props
from footfall.collect.jsonbody import JsonError, decode_json
from footfall.collect.mp import MAX_CLIENT_ID, secret_matches, visitor_key
from footfall.collect.mp_endpoints import send_json
from footfall.collect.request import ClientResolver, scope_headers
from footfall.ingest import Ingest
from footfall.model import App, Context, Hit
from footfall.schema import cap_text

Scope = dict[str, Any]

MAX_BODY = 131_072
MAX_EVENTS = 25
MAX_PARAMS = 25
MAX_NAME = 40
MAX_VALUE = 100
PAST_LIMIT_MS = 72 * 3_600_000
FUTURE_SLACK_MS = 60_000
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_RESERVED_PREFIXES = ("ga_", "google_", "firebase_")
_PAGE_PARAMS = {
    "page_location": "url",
    "page_path": "path",
    "page_title": "title",
    "page_referrer": "referrer",
    "language": "language",
    "screen_resolution": "screensize",
}
_CAMPAIGN_PARAMS = {
    "campaign": "utm_campaign",
    "source": "utm_source",
    "medium": "utm_medium",
    "term": "utm_term",
    "content": "utm_content",
}
_DROPPED_PARAMS = frozenset({"engagement_time_msec", "session_id", "debug_mode"})


@dataclass(frozen=True, slots=True)
class Problem:
    field: str
    code: str
    description: str

    def as_json(self) -> dict[str, str]:
        return {
            "fieldPath": self.field,
            "description": self.description,
            "validationCode": self.code,
        }


@dataclass(slots=True)
class Parsed:
    app: App | None
    hits: list[Hit]
    client_id: str
    ip: str | None
    user_agent: str | None
    problems: list[Problem]
    forbidden: bool = False  # the api_secret did not match


class GA4Parser:
    def __init__(self, apps: AppRegistry, clock: Clock) -> None:
        self.apps = apps
        self.clock = clock

    def parse(self, query: dict[str, str], body: bytes) -> Parsed:
        out = Parsed(app=None, hits=[], client_id="", ip=None, user_agent=None, problems=[])
        problem = out.problems.append
        mid = query.get("measurement_id", "").strip()
        if not mid:
            problem(Problem("measurement_id", "VALUE_REQUIRED", "measurement_id is required"))
        else:
            out.app = self.apps.resolve(mid)
            if out.app is None:
                problem(Problem("measurement_id", "VALUE_INVALID", f"no app has the id {mid!r}"))
            elif not secret_matches(out.app, query.get("api_secret")):
                out.forbidden = True
                problem(
                    Problem("api_secret", "VALUE_INVALID", "api_secret is not this app's secret")
                )
        try:
            doc = decode_json(body)
        except JsonError as exc:
            problem(Problem("", "VALUE_INVALID", f"the {exc}"))
            return out
        if not isinstance(doc, dict):
            problem(Problem("", "VALUE_INVALID", "the body must be a JSON object"))
            return out
        out.client_id = self._client_id(doc, problem)
        out.ip, out.user_agent = self._overrides(doc, problem)
        base_ts = self._timestamp(doc.get("timestamp_micros"), "timestamp_micros", problem)
        events = doc.get("events")
        if not isinstance(events, list) or not events:
            problem(Problem("events", "VALUE_REQUIRED", "events must be a non-empty list"))
            return out
        if len(events) > MAX_EVENTS:
            problem(
                Problem("events", "EXCEEDED_MAX_ENTITIES", f"at most {MAX_EVENTS} events a request")
            )
            return out
        device = doc.get("device")
        if not isinstance(device, dict):
            device = {}
        for i, event in enumerate(events):
            hit = self._event(i, event, device, problem)
            if hit is not None:
                ts = self._timestamp(event.get("timestamp_micros"), f"events[{i}]", problem)
                hit.ts = ts or base_ts or self.clock.now_ms()
                out.hits.append(hit)
        return out

    @staticmethod
    def _client_id(doc: dict[str, Any], problem: Any) -> str:
        for key in ("user_id", "client_id"):
            value = doc.get(key)
            if value is not None and not isinstance(value, str | int):
                problem(Problem(key, "VALUE_INVALID", f"{key} must be a string"))
            elif isinstance(value, int) and not isinstance(value, bool):
                doc[key] = str(value)
        if not doc.get("client_id"):
            problem(Problem("client_id", "VALUE_REQUIRED", "client_id is required"))
            return ""
        chosen = str(doc.get("user_id") or doc["client_id"]).strip()
        if len(chosen) > MAX_CLIENT_ID:
            problem(
                Problem("client_id", "VALUE_INVALID", f"longer than {MAX_CLIENT_ID} characters")
            )
        return chosen

    @staticmethod
    def _overrides(doc: dict[str, Any], problem: Any) -> tuple[str | None, str | None]:
        ip = doc.get("ip_override")
        if ip is not None:
            try:
                ip = str(ipaddress.ip_address(str(ip)))
            except ValueError:
                problem(Problem("ip_override", "VALUE_INVALID", "not an IP address"))
                ip = None
        ua = doc.get("user_agent")
        return ip, (ua.strip() or None) if isinstance(ua, str) else None

    def _timestamp(self, value: object, field: str, problem: Any) -> int | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = whole_number(value)
        if not isinstance(value, int) or isinstance(value, bool):
            problem(Problem(field, "VALUE_INVALID", "timestamp_micros must be an integer"))
            return None
        ms = value // 1000
        now = self.clock.now_ms()
        if ms > now + FUTURE_SLACK_MS or ms < now - PAST_LIMIT_MS:
            problem(
                Problem(
                    field, "VALUE_OUT_OF_BOUNDS", "timestamp_micros must lie in the last 72 hours"
                )
            )
            return None
        return ms

    @staticmethod
    def _event(i: int, event: object, device: dict[str, Any], problem: Any) -> Hit | None:
        where = f"events[{i}]"
        if not isinstance(event, dict):
            problem(Problem(where, "VALUE_INVALID", "an event must be an object"))
            return None
        name = event.get("name")
        if not isinstance(name, str) or not name:
            problem(Problem(f"{where}.name", "VALUE_REQUIRED", "an event needs a name"))
            return None
        if len(name) > MAX_NAME or not _NAME.fullmatch(name):
            problem(
                Problem(
                    f"{where}.name",
                    "NAME_INVALID",
                    f"event name {name[:60]!r}: letters, digits and _, starting with a letter, "
                    f"at most {MAX_NAME}",
                )
            )
            return None
        if name.lower().startswith(_RESERVED_PREFIXES):
            problem(Problem(f"{where}.name", "NAME_RESERVED", f"event name {name!r} is reserved"))
            return None
        params = event.get("params") or {}
        if not isinstance(params, dict):
            problem(Problem(f"{where}.params", "VALUE_INVALID", "params must be an object"))
            return None
        if len(params) > MAX_PARAMS:
            problem(
                Problem(f"{where}.params", "EXCEEDED_MAX_ENTITIES", f"at most {MAX_PARAMS} params")
            )
            return None
        page: dict[str, Any] = {}
        props: dict[str, object] = {}
        campaign: dict[str, str] = {}
        bad = False
        for key, value in params.items():
            path = f"{where}.params.{key}"
            if len(key) > MAX_NAME or not _NAME.fullmatch(key):
                problem(Problem(path, "NAME_INVALID", f"parameter name {key[:60]!r} is invalid"))
                bad = True
            elif key == "items":
                items = _items(value, path, problem)
                if items is None:
                    bad = True
                else:
                    props.update(items_props(items))
            elif isinstance(value, dict | list):
                problem(Problem(path, "VALUE_INVALID", "parameter values are strings or numbers"))
                bad = True
            elif key in _PAGE_PARAMS and isinstance(value, str):
                page[_PAGE_PARAMS[key]] = value
            elif key in _CAMPAIGN_PARAMS and isinstance(value, str):
                campaign[_CAMPAIGN_PARAMS[key]] = value
            elif key not in _DROPPED_PARAMS:
                if isinstance(value, str) and len(value) > MAX_VALUE and key != "page_location":
                    value = value[:MAX_VALUE]
                props[key] = value
        if bad:
            return None
        for key, target in (("language", "language"), ("screen_resolution", "screensize")):
            if isinstance(device.get(key), str):
                page.setdefault(target, device[key])
        try:
            hit = build_hit(
                app=None,
                event="pageview" if name == "page_view" else name,
                props=props,
                channel="mp",
                **page,
            )
        except FieldError as exc:
            field = "page_location" if exc.reason == "invalid-url" else "screen_resolution"
            problem(Problem(f"{where}.params.{field}", "VALUE_INVALID", exc.reason))
            return None
        for column, value in campaign.items():
            setattr(hit, column, cap_text(column, value.strip()) or None)
        return hit


def _items(value: object, path: str, problem: Any) -> list[Item] | None:
    """The ``items`` param: a list of at most MAX_ITEMS objects of strings and numbers, or None
    (with the problem reported)."""
    if not isinstance(value, list):
        problem(Problem(path, "VALUE_INVALID", "items must be a list of objects"))
        return None
    if len(value) > MAX_ITEMS:
        problem(Problem(path, "EXCEEDED_MAX_ENTITIES", f"at most {MAX_ITEMS} items an event"))
        return None
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            problem(Problem(f"{path}[{i}]", "VALUE_INVALID", "an item must be an object"))
            return None
        if len(item) > MAX_ITEM_PARAMS:
            problem(Problem(f"{path}[{i}]", "EXCEEDED_MAX_ENTITIES", "too many item parameters"))
            return None
        for key, field in item.items():
            if not isinstance(key, str) or not _NAME.fullmatch(key) or len(key) > MAX_NAME:
                problem(Problem(f"{path}[{i}]", "NAME_INVALID", f"item parameter {key!r}"))
                return None
            if isinstance(field, bool) or not isinstance(field, str | int | float):
                problem(
                    Problem(
                        f"{path}[{i}].{key}", "VALUE_INVALID", "item values are strings or numbers"
                    )
                )
                return None
    return value


class GA4Endpoint:
    """POST /mp/collect (204 when taken) and /debug/mp/collect (``validationMessages``)."""

    def __init__(
        self,
        parser: GA4Parser,
        ingest: Ingest,
        resolver: ClientResolver,
        *,
        debug: bool = False,
    ) -> None:
        self.parser = parser
        self.ingest = ingest
        self.resolver = resolver
        self.debug = debug

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        body = await read_body(receive, MAX_BODY)
        if body is None:
            await send_json(send, 413, {"error": f"body larger than {MAX_BODY} bytes"})
            return
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        parsed = self.parser.parse(query, body)
        messages = [p.as_json() for p in parsed.problems]
        if self.debug:
            await send_json(send, 200, {"validationMessages": messages})
            return
        if parsed.problems or parsed.app is None:
            first = parsed.problems[0] if parsed.problems else None
            error = "no app" if first is None else first.description
            if first is not None and first.field:
                error = f"{first.field}: {error}"
            status = 403 if parsed.forbidden else 400
            self.ingest.ignore("invalid-api-secret" if parsed.forbidden else "invalid-ga4-payload")
            await send_json(send, status, {"error": error, "validationMessages": messages})
            return
        base = self.resolver.context(scope, scope_headers(scope))
        ctx = Context(
            ip=parsed.ip or base.ip,
            user_agent=parsed.user_agent or base.user_agent,
            secure=base.secure,
            headers=base.headers,
            server_side=True,
        )
        visitor = visitor_key(parsed.app, parsed.client_id)
        reasons: list[str] = []
        for hit in parsed.hits:
            hit.app_id = parsed.app.id
            hit.visitor_id = visitor
            hit.identity = "client-id"
            outcome = self.ingest.process(hit, ctx)
            if outcome.reason:
                reasons.append(outcome.reason)
        refused = unavailable(reasons)
        if refused is not None:
            await send_json(send, 503, refused, (RETRY_AFTER_HEADER,))
            return
        headers = [(IGNORED_HEADER, ", ".join(dict.fromkeys(reasons)).encode())] if reasons else []
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
