"""Path globs, one meaning everywhere (excluded paths, dashboard and API filters).

``*`` matches within one path segment, ``**`` across segments, ``?`` one character; a trailing
``/**`` also matches the prefix itself (``/admin/**`` matches ``/admin``). Case-sensitive.
The result is a regular expression for a full match, in the syntax Python's ``re`` and DuckDB's RE2
share.
"""

from __future__ import annotations

import re


def glob_to_regex(pattern: str) -> str:
    if pattern.endswith("/**"):
        return glob_to_regex(pattern[:-3]) + "(?:/.*)?"
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out)
