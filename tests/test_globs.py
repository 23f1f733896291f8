"""One glob syntax for excluded paths and for filters: Python's re and DuckDB's RE2 agree on it."""

from __future__ import annotations

import re

import duckdb
import pytest

from footfall.globs import glob_to_regex

CASES = [
    ("/blog/**", "/blog", True),
    ("/blog/**", "/blog/a/b", True),
    ("/blog/**", "/blogroll", False),
    ("/blog/*", "/blog/a", True),
    ("/blog/*", "/blog/a/b", False),
    ("/p?ge", "/page", True),
    ("/p?ge", "/p/ge", False),
    ("/a.b(c)+", "/a.b(c)+", True),
    ("/a.b(c)+", "/aXb(c)", False),
    ("/**/edit", "/docs/x/edit", True),
]


@pytest.mark.parametrize(("glob", "path", "matches"), CASES)
def test_python_and_duckdb_agree(glob: str, path: str, matches: bool) -> None:
    pattern = glob_to_regex(glob)
    assert bool(re.fullmatch(pattern, path)) is matches
    with duckdb.connect() as con:
        rows = con.execute("SELECT regexp_full_match(?, ?)", [path, pattern]).fetchall()
    assert rows == [(matches,)]
