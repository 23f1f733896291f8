"""Charts drawn as SVG geometry on the server: only numbers leave here, the template draws them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Bucket:
    x: float
    width: float
    label: str  # the bucket's date, for the tooltip
    visitors: int
    pageviews: int


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    visitors_area: str  # SVG path data
    visitors_line: str
    pageviews_line: str
    top: int  # the value at the top of the scale
    buckets: list[Bucket]
    y_ticks: list[str]  # the y axis' labels, top to bottom (the top, the middle, 0)
    x_labels: list[str]  # up to X_LABELS bucket dates, evenly spaced, first and last included


X_LABELS = 5


def y_ticks(top: int) -> list[str]:
    """Labels for the top, middle and bottom of the y axis (the grid line is at the middle)."""
    middle = f"{top // 2:,}" if top % 2 == 0 else f"{top / 2:,.1f}"
    return [f"{top:,}", middle, "0"]


def x_labels(labels: Sequence[str], most: int = X_LABELS) -> list[str]:
    """Up to ``most`` of ``labels``, evenly spaced, the first and the last among them."""
    n = len(labels)
    if n <= most:
        return list(labels)
    picks = sorted({round(i * (n - 1) / (most - 1)) for i in range(most)})
    return [labels[i] for i in picks]


def nice_ceiling(value: float) -> int:
    """The smallest 1/2/5×10^n at or above ``value`` (at least 1): a round top for the y axis."""
    step = 1
    while True:
        for m in (1, 2, 5):
            if m * step >= value:
                return max(1, m * step)
        step *= 10


def _points(values: Sequence[float], width: float, height: float, top: float) -> list[str]:
    n = len(values)
    dx = width / (n - 1) if n > 1 else 0.0
    x0 = 0.0 if n > 1 else width / 2
    return [f"{x0 + i * dx:.1f},{height - v / top * height:.1f}" for i, v in enumerate(values)]


def line_chart(series: list[dict[str, object]], width: int = 720, height: int = 180) -> Chart:
    visitors = [int(r.get("visitors") or 0) for r in series]  # type: ignore[call-overload]
    pageviews = [int(r.get("pageviews") or 0) for r in series]  # type: ignore[call-overload]
    top = nice_ceiling(max([*visitors, *pageviews, 1]))
    v_points = _points(visitors, width, height, top)
    p_points = _points(pageviews, width, height, top)
    line_v = "M" + " L".join(v_points) if v_points else ""
    area = f"{line_v} L{width},{height} L0,{height} Z" if v_points else ""
    n = len(series)
    step = width / max(1, n - 1) if n > 1 else width
    buckets = [
        Bucket(
            x=max(0.0, i * step - step / 2) if n > 1 else 0.0,
            width=step if n > 1 else float(width),
            label=str(r.get("date", "")),
            visitors=visitors[i],
            pageviews=pageviews[i],
        )
        for i, r in enumerate(series)
    ]
    return Chart(
        width=width,
        height=height,
        visitors_area=area,
        visitors_line=line_v,
        pageviews_line="M" + " L".join(p_points) if p_points else "",
        top=top,
        buckets=buckets,
        y_ticks=y_ticks(top),
        x_labels=x_labels([b.label for b in buckets]),
    )


def sparkline(values: Sequence[int], width: int = 120, height: int = 28) -> str:
    """SVG path data for a small trend line."""
    if not values:
        return ""
    top = max(max(values), 1)
    return "M" + " L".join(_points(values, width, height - 2, top))


def bar_class(value: int, top: int) -> str:
    """A CSS class w0…w100 for a bar's width (inline styles are not allowed by the CSP)."""
    return f"w{round(100 * value / top) if top else 0}"
