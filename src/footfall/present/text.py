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


def cell(value: Any) -> str:
    """A metric as the CLI prints it: money as its long form (``€1,234.50``), none as ``-``."""
    if isinstance(value, dict) and "long" in value:
        return str(value["long"])
    return "-" if value is None else str(value)


def _label(dim: str, value: Any) -> str:
    """A row's name; a country also by flag and name, with the code filters take: 🇩🇪 Germany (DE)."""
    text = str(value)
    if dim == "visit:country" and value:
        from footfall.present.countries import country_label

        shown = country_label(text)
        return f"{shown} ({text})" if shown != text else text
    return text


def breakdown_text(
    app: App, period: str, dim: str, metrics: list[str], rows: list[dict[str, Any]]
) -> str:
    lines = [f"{app.name} ({app.id}) — {period} by {dim}"]
    if not rows:
        return "\n".join([*lines, "  (nothing in this period)"])
    key = next(iter(rows[0]))
    labels = [_label(dim, r[key]) for r in rows]
    width = min(max(len(label) for label in labels), 60)
    lines.append(f"  {key:{width}}  " + "  ".join(f"{m:>12}" for m in metrics))
    for r, label in zip(rows, labels, strict=True):
        cells = "  ".join(f"{cell(r[m]):>12}" for m in metrics)
        lines.append(f"  {label[:60]:{width}}  {cells}")
    return "\n".join(lines)


def funnel_text(app: App, period: str, result: dict[str, Any]) -> str:
    """A funnel's steps: visitors, drop-off from the step before, and conversion from step 1."""
    lines = [f"{app.name} ({app.id}) — {period}, funnel {result['name']!r}"]
    steps = result["steps"]
    width = min(max((len(s["label"]) for s in steps), default=4), 60)
    lines.append(f"  {'':3}{'step':{width}}  {'visitors':>9}  {'drop-off':>14}  {'conversion':>10}")
    for n, s in enumerate(steps, 1):
        drop = f"{s['dropoff']:,} ({s['dropoff_percentage']:g}%)" if n > 1 else ""
        lines.append(
            f"  {n:<3}{s['label'][:60]:{width}}  {s['visitors']:>9,}  {drop:>14}"
            f"  {s['conversion_rate']:>9g}%"
        )
    lines.append(
        f"  {result['entering_visitors']:,} of {result['all_visitors']:,} visitors entered"
        f" ({result['entering_visitors_percentage']:g}%)"
    )
    return "\n".join(lines)
