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
    first_label: str
    last_label: str


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
        first_label=str(series[0]["date"]) if series else "",
        last_label=str(series[-1]["date"]) if series else "",
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
