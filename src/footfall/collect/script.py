"""Serving the browser tracker: ``GET /footfall.js`` and its versioned URLs.

The built script (``footfall/static/footfall.js``, made from ``tracker/footfall.src.js``) is read once,
hashed and gzipped at start-up. Caching:

- ``/footfall.js`` is the URL site owners paste, so it cannot be cached forever: a day, then the
  browser revalidates with ``If-None-Match`` and gets a 304 while the script is unchanged.
- ``/footfall.js?v=VERSION`` and ``/footfall.VERSION.js`` (``VERSION`` = :attr:`TrackerScript.version`)
  name one exact build, so they are cached for a year as immutable. A stale version (a page still
  pointing at the previous build after an upgrade) gets the current script with the short policy.
"""

from __future__ import annotations

import gzip
import hashlib
from importlib import resources
from typing import Any
from urllib.parse import parse_qsl

from starlette.routing import BaseRoute, Route

from footfall.collect.request import scope_headers

SHORT_CACHE = b"public, max-age=86400, must-revalidate"
LONG_CACHE = b"public, max-age=31536000, immutable"
BUDGET_GZIP_BYTES = 1024  # the tracker's size budget, gzipped (tests hold the served script to it)

Scope = dict[str, Any]


def load_tracker() -> bytes:
    """The built tracker shipped inside the package."""
    return resources.files("footfall").joinpath("static/footfall.js").read_bytes()


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header allows gzip (``gzip;q=0`` refuses it)."""
    for item in accept_encoding.split(","):
        coding, _, params = item.strip().partition(";")
        if coding.strip().lower() in ("gzip", "x-gzip"):
            q = params.strip().lower()
            return not q.startswith("q=") or q[2:].strip() not in ("0", "0.0", "0.00", "0.000")
    return False


def etag_matches(if_none_match: str, tags: tuple[str, ...]) -> bool:
    """RFC 9110 weak comparison of an If-None-Match list against our tags."""
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*":
            return True
        if candidate.startswith("W/"):
            candidate = candidate[2:]
        if candidate in tags:
            return True
    return False


class TrackerScript:
    """The script as served: raw and gzipped bodies, their ETags, and the version for long caching."""

    def __init__(self, body: bytes) -> None:
        digest = hashlib.sha256(body).hexdigest()
        self.body = body
        self.gzipped = gzip.compress(body, compresslevel=9, mtime=0)
        self.version = digest[:12]
        self.etag = f'"{digest[:32]}"'
        self.etag_gzip = f'"{digest[:32]}-gz"'

    @property
    def path(self) -> str:
        """The long-cacheable URL path of this build."""
        return f"/footfall.{self.version}.js"

    def cache_control(self, scope: Scope) -> bytes:
        version = scope.get("path_params", {}).get("version")
        if version is None:
            query = scope.get("query_string", b"").decode("latin-1")
            version = dict(parse_qsl(query)).get("v")
        return LONG_CACHE if version == self.version else SHORT_CACHE

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        headers = scope_headers(scope)
        use_gzip = accepts_gzip(headers.get("accept-encoding", ""))
        etag = self.etag_gzip if use_gzip else self.etag
        body = self.gzipped if use_gzip else self.body
        out = [
            (b"cache-control", self.cache_control(scope)),
            (b"etag", etag.encode("ascii")),
            (b"vary", b"Accept-Encoding"),
            (b"access-control-allow-origin", b"*"),
        ]
        if etag_matches(headers.get("if-none-match", ""), (self.etag, self.etag_gzip)):
            await send({"type": "http.response.start", "status": 304, "headers": out})
            await send({"type": "http.response.body", "body": b""})
            return
        out += [
            (b"content-type", b"application/javascript; charset=utf-8"),
            (b"content-length", str(len(body)).encode("ascii")),
            (b"x-content-type-options", b"nosniff"),
        ]
        if use_gzip:
            out.append((b"content-encoding", b"gzip"))
        await send({"type": "http.response.start", "status": 200, "headers": out})
        await send(
            {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body}
        )


def tracker_routes() -> list[BaseRoute]:
    script = TrackerScript(load_tracker())
    return [
        Route("/footfall.js", script, methods=["GET", "HEAD"]),
        Route("/footfall.{version}.js", script, methods=["GET", "HEAD"]),
    ]
