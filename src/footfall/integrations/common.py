"""What the middlewares share: which requests to record, the real client address, and the
HTML-or-image negotiation (page, follow-up detection, title from the path)."""

from __future__ import annotations

import html
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import unquote, urlsplit

from footfall.client import Tracker
from footfall.collect.request import IPNetwork, parse_networks

DEFAULT_CONTENT_TYPES = (
    "image/*",
    "audio/*",
    "video/*",
    "application/pdf",
    "application/zip",
    "application/gzip",
    "application/octet-stream",
)


def _globs(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(v for v in values if v)


@dataclass(frozen=True)
class Rules:
    """Which requests are recorded and which routes negotiate HTML-or-image.

    ``paths``: globs matched against the request path (``/api/*``, ``/files/**``; ``*`` also spans
    ``/``). ``content_types``: globs against the response's media type. A request is recorded when
    either matches. ``negotiate``: path globs whose GET requests from a browser tab (``Accept``
    with ``text/html``) get an HTML page showing the image, with the footfall tracker.
    """

    paths: tuple[str, ...] = ()
    content_types: tuple[str, ...] = DEFAULT_CONTENT_TYPES
    negotiate: tuple[str, ...] = ()
    methods: tuple[str, ...] = ("GET", "POST", "PUT", "PATCH", "DELETE")
    trusted_proxies: tuple[str, ...] = ()
    _trusted: tuple[IPNetwork, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_trusted", parse_networks(self.trusted_proxies))

    @classmethod
    def build(
        cls,
        *,
        paths: Iterable[str] = (),
        content_types: Iterable[str] | None = None,
        negotiate: Iterable[str] = (),
        trusted_proxies: Iterable[str] = (),
    ) -> Rules:
        return cls(
            paths=_globs(paths),
            content_types=DEFAULT_CONTENT_TYPES if content_types is None else _globs(content_types),
            negotiate=_globs(negotiate),
            trusted_proxies=tuple(trusted_proxies),
        )

    def path_matches(self, path: str) -> bool:
        return any(fnmatchcase(path, g) for g in self.paths)

    def negotiates(self, path: str) -> bool:
        return any(fnmatchcase(path, g) for g in self.negotiate)

    def records(self, method: str, path: str, content_type: str) -> bool:
        if method.upper() not in self.methods:
            return False
        media = content_type.split(";", 1)[0].strip().lower()
        return self.path_matches(path) or any(fnmatchcase(media, g) for g in self.content_types)

    def client_ip(self, peer: str, forwarded_for: str) -> str:
        """The connecting address, or — when it is a trusted proxy — the right-most untrusted
        address of X-Forwarded-For."""
        if not (self._trusted and peer and _within(peer, self._trusted)):
            return peer
        ip = peer
        for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
            ip = hop
            if not _within(hop, self._trusted):
                break
        return ip


def _within(address: str, nets: tuple[IPNetwork, ...]) -> bool:
    try:
        addr = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(addr in net for net in nets)


def wants_html(accept: str) -> bool:
    """A browser navigating to a URL asks for text/html first; <img> and curl/wget do not."""
    return "text/html" in accept.lower()


def is_follow_up(referer: str, host: str, path_qs: str) -> bool:
    """The image fetch made by our own HTML view: its Referer is this very URL."""
    if not referer:
        return False
    try:
        parts = urlsplit(referer)
    except ValueError:
        return False
    ref = parts.path + ("?" + parts.query if parts.query else "")
    return parts.netloc.lower() == host.lower() and unquote(ref) == unquote(path_qs)


def title_from_path(path: str) -> str:
    """'/memes/cat-in_box.png' → 'Cat in box'."""
    name = unquote(path.rstrip("/").rsplit("/", 1)[-1]) or "Image"
    stem = name.rsplit(".", 1)[0] if "." in name[1:] else name
    words = stem.replace("-", " ").replace("_", " ").split()
    text = " ".join(words) or name
    return text[:1].upper() + text[1:]


def html_view(path_qs: str, title: str, app_id: str, script_src: str) -> bytes:
    """The page a browser tab gets instead of the raw image: the image and the tracker."""
    t, src = html.escape(title), html.escape(path_qs, quote=True)
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        # the image fetch must name this page as its Referer, or it would be counted again
        '<meta name="referrer" content="same-origin">\n'
        f"<title>{t}</title>\n"
        "<style>body{margin:0;min-height:100vh;display:grid;place-items:center;"
        "background:#111;color:#eee;font:16px system-ui,sans-serif}"
        "img{max-width:100vw;max-height:92vh}h1{font-size:1rem;font-weight:normal}</style>\n"
        f'<script defer data-app="{html.escape(app_id, quote=True)}" '
        f'src="{html.escape(script_src, quote=True)}"></script>\n'
        f'</head><body><main><img src="{src}" alt="{t}"><h1>{t}</h1></main></body></html>\n'
    ).encode()


@dataclass(frozen=True, slots=True)
class Seen:
    """The facts of one finished request, as the middleware hands them to the tracker."""

    url: str
    method: str
    status: int
    ip: str
    user_agent: str
    referrer: str


def record(tracker: Tracker, seen: Seen) -> None:
    """Queue the request (never blocks: the tracker's thread sends it)."""
    if seen.method.upper() == "GET" or seen.method.upper() == "HEAD":
        tracker.track_pageview(
            seen.url,
            ip=seen.ip or None,
            user_agent=seen.user_agent or None,
            referrer=seen.referrer or None,
            status=seen.status,
        )
    else:
        tracker.track_event(
            "request",
            {"method": seen.method.upper()},
            url=seen.url,
            ip=seen.ip or None,
            user_agent=seen.user_agent or None,
            referrer=seen.referrer or None,
            status=seen.status,
        )


class TrackingMiddleware:
    """What the ASGI and WSGI wrappers share: the wrapped app, the tracker, the rules, and what the
    HTML view of a negotiated route needs (the app id for ``data-app`` and the tracker's URL)."""

    def __init__(
        self,
        app: Any,
        tracker: Tracker,
        *,
        rules: Rules | None = None,
        app_id: str | None = None,
        script_src: str = "",
    ) -> None:
        self.app = app
        self.tracker = tracker
        self.rules = rules or Rules()
        self.app_id = app_id or tracker.app
        self.script_src = script_src
