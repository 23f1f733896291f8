"""The fast path's parser of request heads: a whole, plain GET or HEAD at the start of a buffer,
or None to leave the bytes to httptools (footfall.server)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple

from footfall.collect.request import add_header

URL_KEEP = 32_768  # bytes of a request target kept; the collect endpoints ignore anything this long

# What the fast path takes on itself; anything else (a body, an upgrade, odd bytes) goes to httptools.
_REQUEST_LINE = re.compile(rb"(GET|HEAD) (/[!-~]*) HTTP/1\.([01])")
_HEADER_BLOCK = re.compile(rb"(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[\t\x20-\x7e\x80-\xff]*\r\n)*")
_FRAMING = ("transfer-encoding", "upgrade", "expect")


class SimpleGet(NamedTuple):
    """One complete, bodiless GET or HEAD request at the start of a buffer."""

    size: int  # bytes of the buffer it takes, blank line included
    method: str
    path: bytes
    query: bytes
    headers: dict[str, str]  # lower-case names; repeats joined by collect.request.add_header
    keep_alive: bool


def parse_simple_get_python(data: bytes, limit: int = URL_KEEP) -> SimpleGet | None:
    """The request at the start of ``data`` if it is a plain GET/HEAD with every byte of its head
    present and nothing unusual about it; None hands the bytes to the full HTTP parser instead.

    ``footfall._speedups.parse_head`` does the same in C (the tests hold the two to identical results);
    ``parse_simple_get`` is whichever is available."""
    end = data.find(b"\r\n\r\n", 0, limit)
    if end < 0:
        return None
    line_end = data.find(b"\r\n", 0, end + 2)
    request = _REQUEST_LINE.fullmatch(data, 0, line_end)
    if request is None or b"#" in request[2]:
        return None
    if _HEADER_BLOCK.fullmatch(data, line_end + 2, end + 2) is None:
        return None
    headers: dict[str, str] = {}
    if line_end < end:
        for line in data[line_end + 2 : end].decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            add_header(headers, name.lower(), value.strip(" \t"))
        if headers.get("content-length", "0") != "0" or any(h in headers for h in _FRAMING):
            return None
    connection = headers.get("connection")
    keep_alive = request[3] == b"1" and not (
        connection and "close" in (t.strip(" \t").lower() for t in connection.split(","))
    )
    path, _, query = request[2].partition(b"?")
    return SimpleGet(end + 4, request[1].decode("ascii"), path, query, headers, keep_alive)


Head = tuple[int, str, bytes, bytes, dict[str, str], bool]  # a SimpleGet's fields, in order


def _compiled_parse_simple_get() -> Callable[[bytes, int], Head | None] | None:
    try:
        from footfall._speedups import parse_head
    except ImportError:
        return None
    return parse_head


# the C parser when it was built, else the Python one: same arguments, same answers
parse_simple_get: Callable[[bytes, int], Head | None] = (
    _compiled_parse_simple_get() or parse_simple_get_python
)
