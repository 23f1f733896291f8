"""The C parsers (footfall._speedups) answer exactly as the Python ones do, on chosen and on random
input: the same tuple, the same dict, the same error."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest

from footfall.collect.endpoints import MAX_FIELDS, TooManyFields, parse_query_python
from footfall.collect.fields import PIXEL_FIELDS
from footfall.http_head import URL_KEEP, parse_simple_get_python
from tests.speedups import compiled

NAMES = [b"Host", b"cookie", b"Cookie", b"Connection", b"connection", b"Content-Length",
         b"X-y_z", b"User-Agent", b"referer", b"A"]  # fmt: skip
BAD_NAMES = [b"Upgrade", b"Transfer-Encoding", b"Expect", b"x:y", b"X Y", b""]
VALUES = [b"a", b" b ", b"\t", b"close", b"CLOSE", b"keep-alive", b",", b" , ", b"0", b"=", b";",
          b",\tclose", b"clOse\t,", b"x-close", b"close2", b"\t0",
          b"\xe9", b"\xff", b"\x80", b":", b"%41"]  # fmt: skip
BAD_VALUES = [b"3", b"\x7f", b"\x00", b"\r", b"\n"]
NOISE = [
    b" ",
    b"\t",
    b"\r",
    b"\n",
    b"\r\n",
    b"\x00",
    b"\x80",
    b"#",
    b"?",
    b":",
    b"GET ",
    b"\r\n\r\n",
]
KEYS = [b"app", b"path", b"title", b"referrer", b"ap%70", b"p%61th", b"%70ath", b"ti+tle", b"vid",
        b"junk", b"", b"ap\xc3\xa9", b"app%C3%A9", b"%"]  # fmt: skip
VALUE_BYTES = [b"a", b"/", b"%2F", b"%25", b"%", b"%2", b"%00", b"%C3%A9", b"%c3", b"%ff", b"+",
               b"\xc3\xa9", b"\xff", b"\x00", b"\\x41", b"%E2%82%AC", b"%%41", b"=", b"%zz"]  # fmt: skip


def pick(rng: random.Random, good: list[bytes], bad: list[bytes], p_bad: float = 0.03) -> bytes:
    return rng.choice(bad if rng.random() < p_bad else good)


def random_head(rng: random.Random) -> bytes:
    """Mostly well-formed GET/HEAD heads with the odd wrong byte, so every branch is reached."""
    method = pick(rng, [b"GET", b"HEAD"], [b"POST", b"get", b"GET "])
    target = b"/p.gif" + pick(rng, [b"", b"?", b"?app=x&path=%2F"], [b"?a=#b", b"?a=\xe9", b" x"])
    version = pick(rng, [b"HTTP/1.1", b"HTTP/1.0"], [b"HTTP/2.0", b"http/1.1"])
    lines = [method + b" " + target + b" " + version]
    for _ in range(rng.randint(0, 5)):
        value = b"".join(pick(rng, VALUES, BAD_VALUES) for _ in range(rng.randint(0, 3)))
        separator = pick(rng, [b":", b": ", b":\t"], [b" :"])
        lines.append(pick(rng, NAMES, BAD_NAMES) + separator + value)
    data = bytearray(b"\r\n".join(lines) + b"\r\n\r\n" + rng.choice([b"", b"GET / HTTP/1.1"]))
    if rng.random() < 0.1:
        data[rng.randrange(len(data)) : 0] = rng.choice(NOISE)
    return bytes(data)


def random_query(rng: random.Random) -> bytes:
    fields = []
    for _ in range(rng.randint(0, 8)):
        value = b"".join(rng.choice(VALUE_BYTES) for _ in range(rng.randint(0, 4)))
        fields.append(rng.choice(KEYS) + rng.choice([b"=", b"=", b""]) + value)
    return b"&".join(fields)


def outcome(fn: Callable[..., Any], *args: Any) -> Any:
    """What a call returns, or the type of what it raises."""
    try:
        result = fn(*args)
    except (UnicodeDecodeError, TooManyFields) as exc:
        return type(exc)
    return tuple(result) if isinstance(result, tuple) else result


def c_query(query: bytes) -> dict[str, str]:
    fields: dict[str, str] | None = compiled("parse_query")(query, PIXEL_FIELDS, MAX_FIELDS)
    if fields is None:
        raise TooManyFields
    return fields


def test_random_request_heads_get_the_same_answer() -> None:
    parse_head = compiled("parse_head")
    rng = random.Random(20261121)
    for _ in range(20_000):
        data = random_head(rng)
        assert outcome(parse_head, data, URL_KEEP) == outcome(parse_simple_get_python, data), data


def test_random_query_strings_get_the_same_answer() -> None:
    rng = random.Random(1121)
    for _ in range(20_000):
        query = random_query(rng)
        assert outcome(c_query, query) == outcome(parse_query_python, query), query
    many = b"&".join(b"k=1" for _ in range(MAX_FIELDS + 1))
    assert outcome(c_query, many) == outcome(parse_query_python, many) == TooManyFields


def test_the_head_limit_is_where_the_blank_line_must_end() -> None:
    parse_head = compiled("parse_head")
    data = b"GET / HTTP/1.1\r\n\r\n"
    assert parse_head(data, len(data)) is not None
    assert parse_head(data, len(data) - 1) is None
    assert parse_simple_get_python(data, len(data) - 1) is None


@pytest.mark.parametrize("bad", [("not bytes", URL_KEEP), (b"GET", "x"), (b"GET",)])
def test_wrong_arguments_are_a_type_error(bad: tuple[Any, ...]) -> None:
    with pytest.raises(TypeError):
        compiled("parse_head")(*bad)
