"""Plain-text rendering for the CLI."""

from __future__ import annotations

from footfall.model import App
from footfall.query.summary import Summary


def apps_table(apps: list[App]) -> str:
    if not apps:
        return "no apps yet: create one with `footfall apps create NAME --url URL`"
    width = max(len(a.name) for a in apps)
    lines = [f"{'ID':36}  {'NAME':{width}}  URL"]
    lines += [f"{a.id:36}  {a.name:{width}}  {a.url}" for a in apps]
    return "\n".join(lines)


def summary_text(app: App, since: str, s: Summary) -> str:
    lines = [
        f"{app.name} ({app.id}) — last {since}",
        f"  pageviews  {s.pageviews:>10,}",
        f"  visitors   {s.visitors:>10,}",
        f"  sessions   {s.sessions:>10,}",
        f"  events     {s.events:>10,}",
        "",
        "top pages",
    ]
    if not s.top_pages:
        lines.append("  (no pageviews yet)")
    width = max((len(p) for p, _ in s.top_pages), default=4)
    lines += [f"  {p:{min(width, 60)}}  {n:>8,}" for p, n in s.top_pages]
    return "\n".join(lines)
