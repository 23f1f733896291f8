"""ASGI middleware: record matched requests once the response is sent, negotiate HTML-or-image."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import quote

from footfall.integrations.common import (
    Seen,
    TrackingMiddleware,
    html_view,
    is_follow_up,
    record,
    title_from_path,
    wants_html,
)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _headers(scope: Scope) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in scope.get("headers", []):
        out.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    return out


class FootfallASGI(TrackingMiddleware):
    """Wrap an ASGI app: ``FootfallASGI(app, tracker, app_id=..., script_src=..., rules=Rules(...))``."""

    app: ASGIApp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        method = scope.get("method", "GET")
        path = scope.get("path", "") or "/"
        raw_path = scope.get("raw_path") or quote(path).encode()
        query = scope.get("query_string", b"").decode("latin-1")
        path_qs = raw_path.decode("latin-1") + ("?" + query if query else "")
        host = headers.get("host", "")
        url = f"{scope.get('scheme', 'http')}://{host}{path_qs}"
        negotiated = method == "GET" and self.rules.negotiates(path)
        follow_up = negotiated and is_follow_up(headers.get("referer", ""), host, path_qs)
        html_view_wanted = negotiated and not follow_up and wants_html(headers.get("accept", ""))
        seen: dict[str, Any] = {}

        async def watch(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = int(message["status"])
                seen["type"] = next(
                    (
                        v.decode("latin-1")
                        for k, v in message.get("headers", [])
                        if k.lower() == b"content-type"
                    ),
                    "",
                )
                if (
                    html_view_wanted
                    and seen["status"] == 200
                    and seen["type"].lower().startswith("image/")
                ):
                    # a browser tab opened an image: show it in a page with the tracker instead
                    seen["view"] = True
                    await self._send_view(send, path_qs, path)
                    return
                if negotiated:
                    message["headers"] = [*message.get("headers", []), (b"vary", b"Accept")]
            if seen.get("view"):
                return  # the image bytes are not sent to a tab that got the page
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                seen["done"] = True

        try:
            await self.app(scope, receive, watch)
        finally:
            if (
                seen.get("done")
                and not follow_up
                and self.rules.records(method, path, seen["type"])
            ):
                client = scope.get("client")
                ip = self.rules.client_ip(
                    client[0] if client else "", headers.get("x-forwarded-for", "")
                )
                record(
                    self.tracker,
                    Seen(
                        url=url,
                        method=method,
                        status=seen["status"],
                        ip=ip,
                        user_agent=headers.get("user-agent", ""),
                        referrer=headers.get("referer", ""),
                    ),
                )

    async def _send_view(self, send: Send, path_qs: str, path: str) -> None:
        page = html_view(path_qs, title_from_path(path), self.app_id, self.script_src)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/html; charset=utf-8"),
                    (b"content-length", str(len(page)).encode()),
                    (b"vary", b"Accept"),
                    (b"cache-control", b"no-cache"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": page})
