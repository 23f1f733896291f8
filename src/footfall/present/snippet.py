"""The tracking snippets footfall prints for an app."""

from __future__ import annotations

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


def pixel_snippet(app: App, base_url: str) -> str:
    return PIXEL_SNIPPET.format(app=app.id, base=base_url.rstrip("/"))


def snippet(app: App, base_url: str) -> str:
    """What to paste into every page of the site."""
    return pixel_snippet(app, base_url)
