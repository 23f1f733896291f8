"""Filters as predicates on the bare column: ``col = ?``, ``col IN (…)``, ``col LIKE ?``, a
regular expression or ``contains``, with the rows that have no value taken in or left out
explicitly (``col IS NULL OR col = ''``).

A filter sees a missing or empty value as ``(none)`` (docs/query.md), which reads naturally as
``coalesce(nullif(col, ''), '(none)') LIKE ?``; but a function around the column keeps the engine
from pushing the predicate into its scan (a ``/blog/**`` LIKE on the bare column is a range scan
on ``path``: bench/query.py measured ~25 % less CPU for that set). Whether rows without a value
belong in is worked out here, once, by asking whether an alternative matches the text ``(none)``
(the question the SQL asked of those rows); a stored value that is literally ``(none)`` is
compared as it is. A predicate is true on exactly the rows the ``coalesce`` form was true on
(tests/query/test_filter_shapes.py walks every shape). Values are bound; column names come from
footfall.query.spec.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from footfall.query.dialects import Dialect
from footfall.query.spec import NONE_VALUE, FilterOp, wildcard_regex
from footfall.query.sql_text import Sql

Kind = Literal["contains", "equal", "like", "regex"]
BARE_OPS = frozenset({"==", "!=", "~", "!~"})  # the filter operators answered here


def like_pattern(pattern: str) -> str:
    """``/blog/**`` → ``/blog/%`` (``%``, ``_`` and ``\\`` in the pattern matched literally)."""
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("**", "%")


def kind(op: FilterOp, alternative: str) -> Kind:
    """``~`` contains; a glob with ``**`` only is a LIKE pattern, one with a single ``*`` a
    regular expression (footfall.globs); anything else equality."""
    if op in ("~", "!~"):
        return "contains"
    if "*" not in alternative:
        return "equal"
    if "*" not in alternative.replace("**", ""):
        return "like"
    return "regex"


def matches_text(how: Kind, alternative: str, text: str) -> bool:
    """What the SQL's match of ``alternative`` answers for a fixed ``text`` (``(none)``, '')."""
    if how == "contains":
        return alternative in text
    if how == "equal":
        return alternative == text
    if how == "like":
        parts = (re.escape(p) for p in alternative.split("**"))
        return re.fullmatch(".*".join(parts), text, re.S) is not None
    return re.fullmatch(wildcard_regex(alternative), text) is not None


def alternative(d: Dialect, col: Sql, how: Kind, value: str) -> Sql:
    """The bare column matches one alternative."""
    if how == "equal":
        return Sql(f"{col.text} = ?", [*col.params, value])
    if how == "contains":
        return Sql(d.contains.format(x=col.text, p="?"), [*col.params, value])
    if how == "like":
        plain = not any(c in value for c in "%_\\")  # nothing to escape: the same without ESCAPE
        like = d.like_plain if plain else d.like
        return Sql(like.format(x=col.text, p="?"), [*col.params, like_pattern(value)])
    return Sql(d.full_match.format(x=col.text, p="?"), [*col.params, wildcard_regex(value)])


def any_of(d: Dialect, col: Sql, op: FilterOp, alternatives: Sequence[str]) -> Sql:
    """The column matches one of the alternatives (equalities as one ``IN``)."""
    equal = [a for a in alternatives if kind(op, a) == "equal"]
    parts: list[Sql] = []
    if len(equal) == 1:
        parts.append(alternative(d, col, "equal", equal[0]))
    elif equal:
        marks = ", ".join("?" * len(equal))
        parts.append(Sql(f"{col.text} IN ({marks})", [*col.params, *equal]))
    parts += [alternative(d, col, kind(op, a), a) for a in alternatives if kind(op, a) != "equal"]
    if len(parts) == 1:
        return parts[0]
    out = Sql("(")
    for i, part in enumerate(parts):
        out.add(" OR " if i else "").extend(part)
    return out.add(")")


def match(d: Dialect, col: Sql, op: FilterOp, alternatives: Sequence[str]) -> Sql:
    """The filter ``op alternatives`` (one of BARE_OPS) on a column whose missing or empty
    value is ``(none)``."""
    on_none = any(matches_text(kind(op, a), a, NONE_VALUE) for a in alternatives)
    on_empty = any(matches_text(kind(op, a), a, "") for a in alternatives)
    found = any_of(d, col, op, alternatives)
    c, p = col.text, col.params
    if op in ("==", "~"):
        if on_none:
            return Sql(f"({c} IS NULL OR {c} = '' OR ", [*p, *p]).extend(found).add(")")
        if on_empty:  # '' is (none) to a filter: it must not match as ''
            return Sql(f"({c} <> '' AND ", list(p)).extend(found).add(")")
        return found
    if on_none:  # NULL: the comparison is NULL, the row left out
        return Sql(f"({c} <> '' AND NOT (", list(p)).extend(found).add("))")
    return Sql(f"({c} IS NULL OR {c} = '' OR NOT (", [*p, *p]).extend(found).add("))")
