"""Plausible's labels for the Stats API's values: the one place they are mapped, both ways.

footfall stores and shows its own values (``desktop``, ``macOS``, ``(none)`` for an empty one: the
dashboard and the CLI keep them); the Stats API (v1 and v2) answers and filters with the labels
Plausible's API has, so its clients see what they expect:

- an empty source or referrer is ``Direct / None``; an empty UTM value, device, browser or OS (or
  version) ``(not set)``; other empty values stay ``(none)`` (Plausible's, for custom properties);
- devices are ``Desktop``, ``Mobile``, ``Tablet`` (and footfall's ``TV``, ``Bot``, ``Other``);
- operating systems ``Mac`` (footfall's ``macOS``) and ``GNU/Linux`` (``Linux``).

Referrers need no mapping here: the query engine groups them by host and path, without scheme
and ``www.``, as Plausible shows them (footfall.query.sql). A filter value is mapped back to the
stored value (``Desktop`` → ``desktop``, ``Direct / None`` → the empty value) for exact
comparisons; a ``contains`` or regular expression filter on devices is turned into the devices
whose labels match it, one on an OS is compared with the stored names.
"""

from __future__ import annotations

from footfall.query.spec import NONE_VALUE, Filter, pattern

DIRECT = "Direct / None"
NOT_SET = "(not set)"
_DIRECT_DIMS = frozenset({"visit:source", "visit:referrer"})
_NOT_SET_DIMS = frozenset(
    {
        "visit:utm_source",
        "visit:utm_medium",
        "visit:utm_campaign",
        "visit:utm_term",
        "visit:utm_content",
        "visit:device",
        "visit:browser",
        "visit:browser_version",
        "visit:os",
        "visit:os_version",
    }
)
_NAMES: dict[str, dict[str, str]] = {
    "visit:device": {
        "desktop": "Desktop",
        "mobile": "Mobile",
        "tablet": "Tablet",
        "tv": "TV",
        "bot": "Bot",
        "other": "Other",
    },
    "visit:os": {"macOS": "Mac", "Linux": "GNU/Linux"},
}
_STORED = {dim: {label: value for value, label in names.items()} for dim, names in _NAMES.items()}
_EXACT = ("==", "!=", "is", "is_not")


def label(dim: str, value: str) -> str:
    """The label the Stats API answers for a stored ``value`` of dimension ``dim``."""
    if value == NONE_VALUE:
        if dim in _DIRECT_DIMS:
            return DIRECT
        if dim in _NOT_SET_DIMS:
            return NOT_SET
        return value
    return _NAMES.get(dim, {}).get(value, value)


def stored(dim: str, text: str) -> str:
    """The stored value a label asks for (``(none)`` for an empty one)."""
    if text == "" or text == NOT_SET or (text == DIRECT and dim in _DIRECT_DIMS | _NOT_SET_DIMS):
        return NONE_VALUE
    return _STORED.get(dim, {}).get(text, text)


def stored_filter(f: Filter) -> Filter:
    """A filter on labels as the same filter on stored values."""
    values = f.alternatives
    if f.op in _EXACT:
        mapped = tuple(stored(f.dimension, v) for v in values)
    elif f.dimension == "visit:device":  # a closed set: the devices whose labels match
        labels = _NAMES["visit:device"]
        matching = [
            value for value, name in labels.items() if any(_matches(f, name, v) for v in values)
        ]
        negated = f.op in ("!~", "matches_not")
        return Filter(
            f.dimension, "is_not" if negated else "is", values=tuple(matching) or ("\x00",)
        )
    else:
        mapped = values
    return Filter(f.dimension, f.op, values=mapped, case_sensitive=f.case_sensitive)


def _matches(f: Filter, name: str, clause: str) -> bool:
    if f.op in ("matches", "matches_not"):
        return pattern(clause, "filters").search(name) is not None
    if not f.case_sensitive:
        return clause.lower() in name.lower()
    return clause in name
