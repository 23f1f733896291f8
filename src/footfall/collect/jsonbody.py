"""JSON bodies from clients, decoded only once they are known to be shallow.

A decoder recurses once per level of nesting: a body of a few kilobytes nested thousands deep
raised ``RecursionError`` in msgspec and in the stdlib (a 500). Every JSON endpoint decodes through
:func:`decode_json`, which counts the nesting of ``[``/``{`` outside strings first and refuses more
than ``MAX_DEPTH`` levels with :class:`JsonError` (the endpoint answers 400 with its message).
"""

from __future__ import annotations

import re
from itertools import accumulate
from typing import Any, TypeVar

import msgspec

MAX_DEPTH = 32  # deeper than any payload a tracker or Measurement Protocol client sends

T = TypeVar("T")

# a JSON string, escapes included: brackets inside one do not nest
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


class JsonError(ValueError):
    """A body that is not acceptable JSON; the message is fit for a 400 answer."""


def nesting_depth(body: bytes) -> int:
    """The deepest nesting of arrays and objects in ``body`` (0 for a scalar), strings skipped.
    Malformed JSON gets some number; the decoder rejects it afterwards."""
    brackets = _STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    if not brackets:
        return 0
    return max(accumulate(_STEP[b] for b in brackets))


def check_depth(body: bytes | str, limit: int = MAX_DEPTH) -> None:
    """Raise :class:`JsonError` when ``body`` nests deeper than ``limit``."""
    data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    if data.count(b"[") + data.count(b"{") > limit and nesting_depth(data) > limit:
        raise JsonError(f"JSON nested deeper than {limit} levels")


def decode_json(
    body: bytes | str, decoder: msgspec.json.Decoder[T] | None = None, limit: int = MAX_DEPTH
) -> T | Any:
    """``body`` decoded (by ``decoder``, typed, or as plain JSON). Raises :class:`JsonError` for
    nesting past ``limit`` and for anything that is not JSON; ``msgspec.ValidationError`` (a
    subclass of ``msgspec.DecodeError``) passes through for typed decoders, naming the field."""
    check_depth(body, limit)
    try:
        return decoder.decode(body) if decoder is not None else msgspec.json.decode(body)
    except msgspec.ValidationError:
        raise
    except msgspec.DecodeError as exc:
        raise JsonError(f"body is not a JSON object: {exc}") from None
