"""How the query engine's answers are numbers: a metric's value as answered, rates, changes."""

from __future__ import annotations

from typing import Any

Number = float | int | None


def number(metric: str, value: Any) -> float | int | None:
    """A metric's value as answered: an int, or a float rounded to 2 places for the ratios;
    nothing counted is 0, but a time on page with no page followed is None."""
    if metric == "time_on_page":  # no page followed: no time to tell
        return None if value is None else int(value)
    if value is None:
        return 0.0 if metric in ("views_per_visit", "conversion_rate") else 0
    if metric in ("views_per_visit", "conversion_rate"):
        return round(float(value), 2)
    return int(value)


def change(metric: str, current: Number, before: Number) -> int | float | None:
    """Plausible's comparison: percent change; for bounce_rate the difference in points."""
    if current is None or before is None:
        return None
    if metric in ("bounce_rate", "conversion_rate"):
        return round(float(current) - float(before), 2 if metric == "conversion_rate" else None)
    if before == 0:
        return 100 if current else 0
    return round((float(current) - float(before)) / float(before) * 100)


def rate(part: Any, whole: Any) -> float:
    """``part`` as a percentage of ``whole`` (2 places; 0 of nothing)."""
    if not whole:
        return 0.0
    return round(100.0 * float(part or 0) / float(whole), 2)
