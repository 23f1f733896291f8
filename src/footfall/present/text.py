"""Plain-text rendering for the CLI."""

from __future__ import annotations

from typing import Any

from footfall.model import App


def apps_table(apps: list[App]) -> str:
    if not apps:
        return "no apps yet: create one with `footfall apps create NAME --url URL`"
    width = max(len(a.name) for a in apps)
    lines = [f"{'ID':36}  {'NAME':{width}}  URL"]
    lines += [f"{a.id:36}  {a.name:{width}}  {a.url}" for a in apps]
    return "\n".join(lines)


def summary_text(
    app: App, period: str, totals: dict[str, dict[str, Any]], pages: list[dict[str, Any]]
) -> str:
    """Totals (``visits`` shown as sessions, ``events`` as custom events) and the top pages."""
    lines = [f"{app.name} ({app.id}) — {period}"]
    values = {m: r["value"] for m, r in totals.items()}
    if "events" in values and "pageviews" in values:
        values["events"] = values["events"] - values["pageviews"]  # custom events only
    for metric, value in values.items():
        label = {"visits": "sessions"}.get(metric, metric)
        shown = f"{value:>10,}" if isinstance(value, int) else f"{value:>10}"
        lines.append(f"  {label:14} {shown}")
    lines += ["", "top pages"]
    if not pages:
        lines.append("  (no pageviews yet)")
    width = min(max((len(str(r["page"])) for r in pages), default=4), 60)
    lines += [f"  {str(r['page']):{width}}  {r['pageviews']:>8,}" for r in pages]
    return "\n".join(lines)


def breakdown_text(
    app: App, period: str, dim: str, metrics: list[str], rows: list[dict[str, Any]]
) -> str:
    lines = [f"{app.name} ({app.id}) — {period} by {dim}"]
    if not rows:
        return "\n".join([*lines, "  (nothing in this period)"])
    key = next(iter(rows[0]))
    width = min(max(len(str(r[key])) for r in rows), 60)
    lines.append(f"  {key:{width}}  " + "  ".join(f"{m:>12}" for m in metrics))
    for r in rows:
        cells = "  ".join(f"{r[m]:>12}" for m in metrics)
        lines.append(f"  {str(r[key])[:60]:{width}}  {cells}")
    return "\n".join(lines)
