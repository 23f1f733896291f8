"""The baseline for bench/ingest.py: a Starlette app that only answers the GIF, on the same server stack."""

from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from footfall.collect.gif import NO_CACHE_HEADERS, TRANSPARENT_GIF

_HEADERS = {k.decode(): v.decode() for k, v in NO_CACHE_HEADERS if k != b"content-length"}


async def pixel(request: object) -> Response:
    return Response(TRANSPARENT_GIF, headers=_HEADERS)


app = Starlette(routes=[Route("/p.gif", pixel)])
