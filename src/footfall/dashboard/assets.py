"""The dashboard's own CSS and JS, read once from the package and served with long-lived caching."""

from __future__ import annotations

import gzip
import hashlib
from importlib.resources import files

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}


class Assets:
    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, bytes, str, str]] = {}
        for entry in files("footfall").joinpath("static/dashboard").iterdir():
            suffix = "." + entry.name.rsplit(".", 1)[-1]
            if suffix in TYPES:
                body = entry.read_bytes()
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                self.files[entry.name] = (body, gzip.compress(body, 9), TYPES[suffix], etag)
        # changes whenever a file does: templates add ?v=… so browsers never keep a stale copy
        self.version = hashlib.sha256(
            "".join(sorted(f[3] for f in self.files.values())).encode()
        ).hexdigest()[:10]

    async def __call__(self, scope: dict, receive: object, send: object) -> None:
        request = Request(scope)
        found = self.files.get(request.path_params.get("name", ""))
        response: Response
        if found is None:
            response = PlainTextResponse("not found", status_code=404)
        else:
            body, zipped, kind, etag = found
            headers = {
                "etag": etag,
                "cache-control": "public, max-age=3600",
                "x-content-type-options": "nosniff",
                "vary": "accept-encoding",
            }
            if request.headers.get("if-none-match") == etag:
                response = Response(status_code=304, headers=headers)
            elif "gzip" in request.headers.get("accept-encoding", ""):
                headers["content-encoding"] = "gzip"
                response = Response(zipped, media_type=kind, headers=headers)
            else:
                response = Response(body, media_type=kind, headers=headers)
        await response(scope, receive, send)  # type: ignore[arg-type]
