"""The tracking snippets footfall prints for an app."""

from __future__ import annotations

from html import escape

from footfall.model import App

PIXEL_SNIPPET = (
    "<script>\n"
    "var d,i,q,x; d={{app:'{app}',path:location.pathname,title:document.title,platform:navigator.platform,\n"
    "language:navigator.language,screensize:screen.width+'x'+screen.height,pixelratio:devicePixelRatio,\n"
    "referrer:document.referrer}}; q=[]; for(i in d) q.push([i,encodeURIComponent(d[i])].join('='));\n"
    "new Image().src='{base}/p.gif?'+q.join('&');\n"
    "</script>\n"
    '<noscript><img src="{base}/p.gif?app={app}" alt="" width="1" height="1"></noscript>'
)

NOSCRIPT = '<noscript><img src="{base}/p.gif?app={app}" alt="" width="1" height="1"></noscript>'


def pixel_snippet(app: App, base_url: str) -> str:
    """The classic image-beacon snippet (no tracker script; works with any page that runs JS)."""
    return PIXEL_SNIPPET.format(app=app.id, base=base_url.rstrip("/"))


def script_attributes(app: App) -> str:
    """The data- attributes the app's settings call for, beyond data-app.

    First-party identity needs the tracker to keep and send the ids; an app that drops DNT/GPC hits
    is better served by a tracker that does not send them at all."""
    attrs = ""
    if app.identity == "first-party":
        attrs += ' data-identity="first-party"'
    if app.respect_dnt and app.dnt_action == "drop":
        attrs += " data-respect-dnt"
    return attrs


def script_snippet(app: App, base_url: str) -> str:
    """The tracker script tag plus the image fallback for visitors without JavaScript."""
    base = escape(base_url.rstrip("/"))
    return (
        f'<script defer data-app="{app.id}"{script_attributes(app)} src="{base}/footfall.js">'
        "</script>\n" + NOSCRIPT.format(app=app.id, base=base)
    )


def snippet(app: App, base_url: str) -> str:
    """What to paste into every page of the site."""
    return script_snippet(app, base_url)
