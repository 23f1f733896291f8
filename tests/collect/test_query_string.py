"""The pixel's query-string parser: what the classic snippet's encodeURIComponent produces, and worse."""

from __future__ import annotations

import pytest

from footfall.collect.endpoints import TooManyFields, parse_query


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
def test_decodes_known_fields(query: bytes, expected: dict[str, str]) -> None:
    assert parse_query(query) == expected


def test_bytes_that_are_not_utf8_are_an_error() -> None:
    with pytest.raises(UnicodeDecodeError):
        parse_query(b"title=%ff%fe")


def test_too_many_fields_is_an_error() -> None:
    with pytest.raises(TooManyFields):
        parse_query(b"&".join(b"k=1" for _ in range(65)))
    assert parse_query(b"&".join(b"k=1" for _ in range(64))) == {}
