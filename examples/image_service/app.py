"""A tiny meme service: generated SVG pictures with a caption, tracked server-side by footfall.

    FOOTFALL_URL=http://127.0.0.1:8000 FOOTFALL_APP=<app id or UA-alias> python app.py

Every image fetched straight from its URL (embedded on another site, curl, wget) is recorded once,
after the response, from footfall's tracker thread. A person who opens an image URL in a browser tab
gets a small HTML page showing it, whose footfall.js beacon counts the view; the browser's follow-up
fetch of the picture itself is not counted again.
"""

from __future__ import annotations

import hashlib
import html
import os

from flask import Flask, Response, abort, request

from footfall.integrations.flask import Footfall

MEMES = {
    "cat-in-box": ("if it fits", "i sits"),
    "monday-cat": ("one does not simply", "skip monday"),
    "deploy-friday": ("deploy on friday", "what could go wrong"),
}


def _palette(name: str) -> tuple[str, str, str]:
    digest = hashlib.sha256(name.encode()).digest()
    hue = digest[0] * 360 // 256
    return (
        f"hsl({hue},60%,55%)",
        f"hsl({(hue + 40) % 360},65%,35%)",
        f"hsl({(hue + 180) % 360},40%,85%)",
    )


def meme_svg(name: str, top: str, bottom: str, size: int = 480) -> str:
    """A picture (a cat's head on a gradient) with an Impact-style caption, as SVG text."""
    light, dark, face = _palette(name)

    def caption(text: str, y: int) -> str:
        # shrink long captions to fit: capitals of these fonts are about 0.6 em wide
        font = min(size // 11, int(size * 0.92 / (0.62 * max(len(text), 1))))
        return (
            f'<text x="50%" y="{y}" text-anchor="middle" font-family="Impact, Anton, sans-serif" '
            f'font-size="{font}" fill="#fff" stroke="#000" stroke-width="{max(1, font // 14)}" '
            f'paint-order="stroke">{html.escape(text.upper())}</text>'
        )

    x, y, r = size // 2, size // 2 + size // 20, size // 4  # the face, a little below the middle
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
        f'viewBox="0 0 {size} {size}">'
        f'<defs><linearGradient id="g" x1="0" y1="0" x2="0" y2="1">'
        f'<stop offset="0" stop-color="{light}"/><stop offset="1" stop-color="{dark}"/>'
        f"</linearGradient></defs>"
        f'<rect width="{size}" height="{size}" fill="url(#g)"/>'
        f'<polygon points="{x - r},{y - r // 3} {x - r + r // 4},{y - r - r // 2} '
        f'{x - r // 3},{y - r + r // 6}" fill="{face}"/>'
        f'<polygon points="{x + r},{y - r // 3} {x + r - r // 4},{y - r - r // 2} '
        f'{x + r // 3},{y - r + r // 6}" fill="{face}"/>'
        f'<circle cx="{x}" cy="{y}" r="{r}" fill="{face}"/>'
        f'<circle cx="{x - r // 3}" cy="{y - r // 6}" r="{r // 8}" fill="#222"/>'
        f'<circle cx="{x + r // 3}" cy="{y - r // 6}" r="{r // 8}" fill="#222"/>'
        f'<path d="M{x - r // 5},{y + r // 4} Q{x},{y + r // 2} {x + r // 5},{y + r // 4}" '
        f'stroke="#222" stroke-width="{size // 120}" fill="none"/>'
        f"{caption(top, size // 8)}{caption(bottom, size - size // 16)}"
        "</svg>"
    )


def create_app(
    footfall_url: str, app_id: str, *, api_secret: str | None = None, **footfall: object
) -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> str:
        items = "".join(
            f'<li><a href="/memes/{n}.svg"><img src="/memes/{n}.svg" width="160" alt="{n}"></a></li>'
            for n in MEMES
        )
        return f"<!doctype html><title>Memes</title><h1>Memes</h1><ul>{items}</ul>"

    @app.get("/memes/<name>.svg")
    def meme(name: str) -> Response:
        if name not in MEMES:
            abort(404)
        top, bottom = MEMES[name]
        svg = meme_svg(
            name, request.args.get("top", top)[:60], request.args.get("bottom", bottom)[:60]
        )
        return Response(svg, mimetype="image/svg+xml", headers={"Cache-Control": "max-age=300"})

    # after: one line instead of a blocking requests.post(...) in every image handler
    Footfall(
        app,
        endpoint=footfall_url,
        app_id=app_id,
        api_secret=api_secret,
        negotiate=["/memes/*"],  # browser tabs get an HTML page with the tracker
        **footfall,
    )
    return app


if __name__ == "__main__":
    create_app(
        os.environ.get("FOOTFALL_URL", "http://127.0.0.1:8000"),
        os.environ.get("FOOTFALL_APP", "UA-12345-6"),
        api_secret=os.environ.get("FOOTFALL_API_SECRET") or None,
    ).run(host="127.0.0.1", port=int(os.environ.get("PORT", "5000")))
