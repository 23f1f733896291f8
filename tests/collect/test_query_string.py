"""The pixel's query-string parser: what the classic snippet's encodeURIComponent produces, and worse."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from footfall.collect.endpoints import TooManyFields, parse_query, parse_query_python
from tests.speedups import compiled

Parse = Callable[[bytes], dict[str, str]]


@pytest.fixture(params=["python", "c"])
def parse(request: pytest.FixtureRequest) -> Parse:
    """Each test runs against the Python parser and the C one (footfall._speedups)."""
    if request.param == "python":
        return parse_query_python
    compiled("parse_query")
    return parse_query


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            b"path=%2Fblog%2Fcaf%C3%A9&title=Caf%C3%A9%20%26%20Bar",
            {"path": "/blog/café", "title": "Café & Bar"},
        ),
        (b"title=a+b%2Bc", {"title": "a b+c"}),
        (b"title=100%25&path=%2F", {"title": "100%", "path": "/"}),
        (b"title=100%&path=%2Fx", {"title": "100%", "path": "/x"}),  # a stray % is kept, not fatal
        (b"title=a%00b", {"title": "a\x00b"}),  # NUL is decoded (the field cleaner drops it later)
        (b"path=/first&path=/second", {"path": "/first"}),  # first occurrence wins
        (b"nope=1&evil%3Bkey=2&app=x", {"app": "x"}),  # only known fields are kept
        (b"path&title=", {"path": "", "title": ""}),
        (b"path=a%5Cx41", {"path": "a\\x41"}),  # backslashes are literal
        (b"", {}),
    ],
)
def test_decodes_known_fields(parse: Parse, query: bytes, expected: dict[str, str]) -> None:
    assert parse(query) == expected


def test_bytes_that_are_not_utf8_are_an_error(parse: Parse) -> None:
    with pytest.raises(UnicodeDecodeError):
        parse(b"title=%ff%fe")
    with pytest.raises(UnicodeDecodeError):
        parse(b"app=x&title=\xc3")  # raw bytes too


def test_too_many_fields_is_an_error(parse: Parse) -> None:
    with pytest.raises(TooManyFields):
        parse(b"&".join(b"k=1" for _ in range(65)))
    assert parse(b"&".join(b"k=1" for _ in range(64))) == {}


def test_unwanted_values_are_not_decoded(parse: Parse) -> None:
    assert parse(b"junk=%ff&app=x") == {"app": "x"}
