"""WSGI middleware: record matched requests after the response, negotiate HTML-or-image."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
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

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _AfterResponse:
    """The app's response iterable, calling ``done`` once the server has sent it (close())."""

    def __init__(self, body: Iterable[bytes], done: Callable[[], None]) -> None:
        self._body = body
        self._done = done

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._body)

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._done()


def _text(value: str) -> str:
    """WSGI strings are bytes decoded as latin-1: the text they meant (UTF-8)."""
    return value.encode("latin-1", "replace").decode("utf-8", "replace")


def request_url(environ: dict[str, Any]) -> tuple[str, str, str]:
    """(full URL, host, path with query) of a WSGI request."""
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST") or (
        f"{environ.get('SERVER_NAME', '')}:{environ.get('SERVER_PORT', '')}"
    )
    raw = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    path = quote(raw.encode("latin-1", "replace"), safe="/%:@!$&'()*+,;=-._~")
    query = environ.get("QUERY_STRING", "")
    path_qs = path + ("?" + query if query else "")
    return f"{scheme}://{host}{path_qs}", host, path_qs


class FootfallWSGI(TrackingMiddleware):
    """Wrap a WSGI app: ``FootfallWSGI(app, tracker, app_id=..., script_src=..., rules=Rules(...))``.

    ``script_src`` is the URL of footfall's ``/footfall.js`` for the HTML view of negotiated routes.
    """

    app: WSGIApp

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        method = environ.get("REQUEST_METHOD", "GET")
        path = _text(environ.get("PATH_INFO", "")) or "/"
        url, host, path_qs = request_url(environ)
        negotiated = self.rules.negotiates(path) and method == "GET"
        follow_up = negotiated and is_follow_up(environ.get("HTTP_REFERER", ""), host, path_qs)
        html_view_wanted = (
            negotiated and not follow_up and wants_html(environ.get("HTTP_ACCEPT", ""))
        )
        seen: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            seen["status"] = int(status.split(" ", 1)[0])
            seen["type"] = next((v for k, v in headers if k.lower() == "content-type"), "")
            if negotiated:
                headers = [*headers, ("Vary", "Accept")]
            return start_response(status, headers, exc_info)

        def done() -> None:
            if follow_up or "status" not in seen:
                return
            if not self.rules.records(method, path, seen["type"]):
                return
            ip = self.rules.client_ip(
                environ.get("REMOTE_ADDR", ""), environ.get("HTTP_X_FORWARDED_FOR", "")
            )
            record(
                self.tracker,
                Seen(
                    url=url,
                    method=method,
                    status=seen["status"],
                    ip=ip,
                    user_agent=environ.get("HTTP_USER_AGENT", ""),
                    referrer=environ.get("HTTP_REFERER", ""),
                ),
            )

        if not html_view_wanted:
            return _AfterResponse(self.app(environ, capture), done)
        # a browser tab: if the route really answers an image, show it in a page instead
        probed: dict[str, Any] = {}

        def probe(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            probed.update(status=status, headers=headers, exc_info=exc_info)
            return lambda data: None

        body = self.app(environ, probe)
        if "status" not in probed:  # an app that starts the response while iterating
            body = list(body)
        media = next((v for k, v in probed["headers"] if k.lower() == "content-type"), "")
        if probed["status"].startswith("200") and media.lower().startswith("image/"):
            close = getattr(body, "close", None)
            if close is not None:
                close()
            page = html_view(path_qs, title_from_path(path), self.app_id, self.script_src)
            start_response(
                "200 OK",
                [
                    ("Content-Type", "text/html; charset=utf-8"),
                    ("Content-Length", str(len(page))),
                    ("Vary", "Accept"),
                    ("Cache-Control", "no-cache"),
                ],
            )
            return [page]  # counted by the page's own beacon, not here
        capture(probed["status"], probed["headers"], probed["exc_info"])
        return _AfterResponse(body, done)
