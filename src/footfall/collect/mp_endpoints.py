"""The Measurement Protocol v1 endpoints as plain ASGI callables: /collect, /batch, /debug/collect.

Parsing and recording live in :mod:`footfall.collect.mp`; this module reads requests and answers.
"""

from __future__ import annotations

from typing import Any

import msgspec

from footfall.collect.endpoints import IGNORED_HEADER, RETRY_AFTER_HEADER, read_body, unavailable
from footfall.collect.gif import NO_CACHE_HEADERS, TRANSPARENT_GIF
from footfall.collect.mp import (
    MAX_BATCH_BYTES,
    MAX_BATCH_HITS,
    MAX_HIT_BYTES,
    InvalidHit,
    Message,
    V1Parser,
    V1Receiver,
    bearer_token,
    invalid,
    parse_form,
)
from footfall.collect.request import scope_headers

Scope = dict[str, Any]


async def send_gif(send: Any, reasons: list[str]) -> None:
    headers = list(NO_CACHE_HEADERS)
    if reasons:
        headers.append((IGNORED_HEADER, ", ".join(dict.fromkeys(reasons)).encode("ascii")))
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": TRANSPARENT_GIF})


async def send_json(
    send: Any, status: int, body: object, extra: tuple[tuple[bytes, bytes], ...] = ()
) -> None:
    data = msgspec.json.encode(body)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
                (b"cache-control", b"no-store"),
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


async def _payload(scope: Scope, receive: Any, limit: int) -> bytes | None:
    """The hit text: the query string for GET, the body (any Content-Type, chunked or not) for POST,
    merged after the query string. None when it is larger than ``limit``."""
    query: bytes = scope.get("query_string", b"")
    if scope["method"] != "POST":
        return query if len(query) <= limit else None
    body = await read_body(receive, limit)
    if body is None:
        return None
    body = body.strip(b"\r\n")
    return b"&".join(p for p in (body, query) if p)  # body values win


class CollectEndpoint:
    """GET|POST /collect — one hit; always the GIF."""

    def __init__(self, receiver: V1Receiver) -> None:
        self.receiver = receiver

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        raw = await _payload(scope, receive, MAX_HIT_BYTES)
        if raw is None:
            outcome = self.receiver.ingest.ignore("too-large")
        else:
            outcome = self.receiver.take(raw, scope, scope_headers(scope))
        reasons = [outcome.reason] if outcome.reason else []
        refused = unavailable(reasons)
        if refused is not None:
            await send_json(send, 503, refused, (RETRY_AFTER_HEADER,))
            return
        await send_gif(send, reasons)


class BatchEndpoint:
    """POST /batch — up to 20 hits, one per line; 413 beyond Google's limits, else the GIF."""

    def __init__(self, receiver: V1Receiver) -> None:
        self.receiver = receiver

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        body = await read_body(receive, MAX_BATCH_BYTES)
        if body is None:
            await send_json(send, 413, {"error": f"batch larger than {MAX_BATCH_BYTES} bytes"})
            return
        lines = [line for line in body.split(b"\n") if line.strip()]
        if len(lines) > MAX_BATCH_HITS:
            await send_json(send, 413, {"error": f"more than {MAX_BATCH_HITS} hits in a batch"})
            return
        if any(len(line) > MAX_HIT_BYTES for line in lines):
            await send_json(send, 413, {"error": f"a hit is larger than {MAX_HIT_BYTES} bytes"})
            return
        headers = scope_headers(scope)
        reasons: list[str] = []
        for line in lines:
            outcome = self.receiver.take(line.strip(b"\r"), scope, headers)
            if outcome.reason:
                reasons.append(outcome.reason)
        refused = unavailable(reasons)
        if refused is not None:
            await send_json(send, 503, refused, (RETRY_AFTER_HEADER,))
            return
        await send_gif(send, reasons)


class DebugEndpoint:
    """GET|POST /debug/collect — validates like /collect (one hit per line) and stores nothing."""

    def __init__(self, parser: V1Parser) -> None:
        self.parser = parser

    def result(self, raw: bytes, bearer: str | None) -> dict[str, object]:
        messages: list[Message] = []
        try:
            self.parser.parse(parse_form(raw), bearer)
        except InvalidHit as exc:
            messages = exc.messages
        return {
            "valid": not messages,
            "parserMessage": [m.as_json() for m in messages],
            "hit": "/debug/collect?" + raw.decode("latin-1"),
        }

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        raw = await _payload(scope, receive, MAX_BATCH_BYTES)
        if raw is None:
            await send_json(send, 413, {"error": f"payload larger than {MAX_BATCH_BYTES} bytes"})
            return
        bearer = bearer_token(scope_headers(scope))
        if scope["method"] == "POST" and b"\n" in raw:
            hits = [line.strip(b"\r") for line in raw.split(b"\n") if line.strip()]
        else:
            hits = [raw]
        results = []
        for line in hits[:MAX_BATCH_HITS]:
            if len(line) > MAX_HIT_BYTES:
                results.append(
                    {
                        "valid": False,
                        "parserMessage": [
                            invalid("payload", "too-large", f"over {MAX_HIT_BYTES} bytes").as_json()
                        ],
                        "hit": "",
                    }
                )
            else:
                results.append(self.result(line, bearer))
        n = len(results)
        await send_json(
            send,
            200,
            {
                "hitParsingResult": results,
                "parserMessage": [
                    {"messageType": "INFO", "description": f"Found {n} hit{'s' * (n != 1)}."}
                ],
            },
        )
