"""Serving the browser tracker: ``GET /footfall.js`` and its versioned URLs.

The built script (``footfall/static/footfall.js``, made from ``tracker/footfall.src.js``) is read once,
hashed at start-up; browsers that accept gzip get ``footfall.js.gz``, gzipped by the build with
zopfli (smaller than zlib's best, so the 1 KB budget has room). Caching:

- ``/footfall.js`` is the URL site owners paste, so it cannot be cached forever: a day, then the
  browser revalidates with ``If-None-Match`` and gets a 304 while the script is unchanged.
- ``/footfall.js?v=VERSION`` and ``/footfall.VERSION.js`` (``VERSION`` = :attr:`TrackerScript.version`)
  name one exact build, so they are cached for a year as immutable. A stale version (a page still
  pointing at the previous build after an upgrade) gets the current script with the short policy.

Plausible's script names (``/js/script.js``, ``/js/script.outbound-links.hash.js``, … and the older
``/js/plausible.*.js``) serve the same tracker wrapped for a Plausible snippet, so a site switches by
changing the host only: :func:`plausible_script` builds the wrapped body for a set of extensions,
:class:`PlausibleScripts` serves the known names and answers 404 for any other ``/js/`` name.
Umami's ``/script.js`` (:func:`umami_script`) wraps it likewise for an Umami snippet.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from importlib import resources
from typing import Any
from urllib.parse import parse_qsl

from starlette.responses import PlainTextResponse
from starlette.routing import BaseRoute, Route

from footfall.collect.request import scope_headers

SHORT_CACHE = b"public, max-age=86400, must-revalidate"
LONG_CACHE = b"public, max-age=31536000, immutable"
BUDGET_GZIP_BYTES = 1024  # the tracker's size budget, gzipped (tests hold the served script to it)
# The tracker under a Plausible script name, with the wrapper that maps Plausible's tag and calls
PLAUSIBLE_BUDGET_GZIP_BYTES = BUDGET_GZIP_BYTES + 256
TAGGED_EVENTS_BUDGET_GZIP_BYTES = 224  # more for the tagged-events extension (_TAGGED_EVENTS)
# The tracker as Umami's /script.js, with window.umami's own sender and data-umami-event clicks
UMAMI_BUDGET_GZIP_BYTES = BUDGET_GZIP_BYTES + 416

Scope = dict[str, Any]


def load_tracker() -> bytes:
    """The built tracker shipped inside the package."""
    return resources.files("footfall").joinpath("static/footfall.js").read_bytes()


def load_tracker_gzip() -> bytes:
    """The built tracker gzipped by the build (zopfli: smaller than zlib's best), shipped beside it."""
    return resources.files("footfall").joinpath("static/footfall.js.gz").read_bytes()


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header allows gzip (``gzip;q=0`` refuses it)."""
    for item in accept_encoding.split(","):
        coding, _, params = item.strip().partition(";")
        if coding.strip().lower() in ("gzip", "x-gzip"):
            q = params.strip().lower()
            return not q.startswith("q=") or q[2:].strip() not in ("0", "0.0", "0.00", "0.000")
    return False


def etag_matches(if_none_match: str, tags: tuple[str, ...]) -> bool:
    """RFC 9110 weak comparison of an If-None-Match list against our tags."""
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*":
            return True
        if candidate.startswith("W/"):
            candidate = candidate[2:]
        if candidate in tags:
            return True
    return False


def _gunzip(data: bytes) -> bytes | None:
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error):
        return None


class TrackerScript:
    """The script as served: raw and gzipped bodies, their ETags, and the version for long caching."""

    def __init__(self, body: bytes, gzipped: bytes | None = None) -> None:
        """``gzipped``: the body compressed already (used only when it is the body's), else it is
        compressed here."""
        digest = hashlib.sha256(body).hexdigest()
        self.body = body
        if gzipped is None or _gunzip(gzipped) != body:
            gzipped = gzip.compress(body, compresslevel=9, mtime=0)
        self.gzipped = gzipped
        self.version = digest[:12]
        self.etag = f'"{digest[:32]}"'
        self.etag_gzip = f'"{digest[:32]}-gz"'

    @property
    def path(self) -> str:
        """The long-cacheable URL path of this build."""
        return f"/footfall.{self.version}.js"

    def cache_control(self, scope: Scope) -> bytes:
        version = scope.get("path_params", {}).get("version")
        if version is None:
            query = scope.get("query_string", b"").decode("latin-1")
            version = dict(parse_qsl(query)).get("v")
        return LONG_CACHE if version == self.version else SHORT_CACHE

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        headers = scope_headers(scope)
        use_gzip = accepts_gzip(headers.get("accept-encoding", ""))
        etag = self.etag_gzip if use_gzip else self.etag
        body = self.gzipped if use_gzip else self.body
        out = [
            (b"cache-control", self.cache_control(scope)),
            (b"etag", etag.encode("ascii")),
            (b"vary", b"Accept-Encoding"),
            (b"access-control-allow-origin", b"*"),
        ]
        if etag_matches(headers.get("if-none-match", ""), (self.etag, self.etag_gzip)):
            await send({"type": "http.response.start", "status": 304, "headers": out})
            await send({"type": "http.response.body", "body": b""})
            return
        out += [
            (b"content-type", b"application/javascript; charset=utf-8"),
            (b"content-length", str(len(body)).encode("ascii")),
            (b"x-content-type-options", b"nosniff"),
        ]
        if use_gzip:
            out.append((b"content-encoding", b"gzip"))
        await send({"type": "http.response.start", "status": 200, "headers": out})
        await send(
            {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body}
        )


# Plausible's script extensions footfall serves, each with the statement that turns on footfall's
# matching option. The statements run on ``d``, the script tag's dataset, before the tracker reads it.
PLAUSIBLE_EXTENSIONS: dict[str, str] = {
    "hash": 'd.hash=""',
    "outbound-links": 'd.outbound=""',
    "file-downloads": 'd.downloads=d.fileTypes||""',
    "local": 'd.local=""',
    "revenue": "",  # plausible(name, {revenue}) is mapped in every Plausible-named script
    "tagged-events": "",  # _TAGGED_EVENTS, after the tracker
}
PLAUSIBLE_SCRIPT_NAMES = ("script", "plausible")  # /js/script.js, and the older /js/plausible.js

# Before the tracker: Plausible's tag attributes as footfall's. data-domain is the app when there is no
# data-app; the endpoint is data-api without its /api/event, else the script's URL without /js/NAME.
_PLAUSIBLE_PREFIX = (
    "(s=>{try{const d=s.dataset;d.domain&&!d.app&&(d.app=d.domain);"
    'd.endpoint=d.endpoint||(d.api?new URL(d.api,location).href.replace(/\\/api\\/event$/,"")'
    ':s.src.replace(/(\\/js)?\\/[^/]*$/,""));OPTIONS}catch(e){}})(document.currentScript);\n'
)
# After the tracker: window.plausible(name, {props, revenue, callback}) sends through footfall(); the
# calls Plausible's stub queued are replayed after footfall's own. Revenue becomes the props
# revenue_amount and revenue_currency (first, as for Plausible's Events API payloads); the callback
# is the page's own code and is called after the event is handed to the browser, outside our guard.
_PLAUSIBLE_SUFFIX = (
    "(w=>{try{const q=(w.plausible||{}).q||[];"
    "w.plausible=(n,o)=>{try{const r=o&&o.revenue;"
    "w.footfall(n,{props:r?Object.assign({revenue_amount:r.amount,revenue_currency:r.currency},"
    "o.props):o&&o.props})}catch(e){}o&&o.callback&&o.callback()};"
    "for(const a of q)try{w.plausible(...a)}catch(e){}}catch(e){}})(window);\n"
)

# After the alias, with tagged-events: a click (or middle click) on an element tagged with the class
# plausible-event-name=NAME (itself or an ancestor; "+" stands for a space), or the submit of a
# tagged form, sends NAME with a prop per plausible-event-KEY=VALUE class, as Plausible's
# extension does. No navigation is held back: footfall's events go by sendBeacon, which outlives
# the page.
_TAGGED_EVENTS = (
    "(w=>{try{const h=e=>{try{if(e.type=='auxclick'&&e.button!=1)return;"
    "const t=e.target.closest&&e.target.closest('[class*=\"plausible-event-name=\"]');"
    "if(!t||(e.type=='submit')!=(t.tagName=='FORM'))return;let n,p={};"
    "for(const c of t.classList){const m=/^plausible-event-(.+)=(.+)$/.exec(c);"
    "if(m){const v=m[2].replace(/\\+/g,' ');m[1]=='name'?n=v:p[m[1]]=v}}"
    "n&&w.plausible(n,{props:p})}catch(x){}},d=w.document;"
    "for(const k of['click','auxclick','submit'])d.addEventListener(k,h,!0)}catch(x){}})(window);\n"
)


# Umami's script (``<script defer src=".../script.js" data-website-id="UUID">``): the tracker runs
# for the website id as its app, sending to data-host-url (else where the script came from), unless
# data-domains does not list the page's host, data-do-not-track="true" meets a browser's
# Do-Not-Track, or data-auto-track="false" leaves tracking to the page. window.umami.track() —
# (), (name, data), (payload), (payload => payload) — and data-umami-event clicks send Umami's
# own payload to /api/send (footfall.collect.umami); identify() keeps nothing.
_UMAMI_PREFIX = (
    "(()=>{try{const s=document.currentScript,d=s.dataset,l=location,n=navigator,"
    'e=(d.hostUrl||s.src.replace(/\\/[^/]*$/,"")).replace(/\\/+$/,""),'
    'on=(!d.domains||d.domains.split(",").map(x=>x.trim()).includes(l.hostname))'
    '&&!(d.doNotTrack=="true"&&n.doNotTrack=="1"),'
    "p=()=>({website:d.websiteId,hostname:l.hostname,url:l.pathname+l.search,"
    'title:document.title,referrer:document.referrer,language:n.language,screen:screen.width+"x"'
    '+screen.height}),t=(a,o)=>{try{const b=p(),q=typeof a=="function"?a(b):typeof a=='
    '"object"?Object.assign(b,a):a?Object.assign(b,{name:a,data:o}):b;on&&n.sendBeacon(e+'
    '"/api/send",JSON.stringify({type:"event",payload:q}))}catch(x){}};'
    "window.umami={track:t,identify:()=>{}};"
    'd.app=d.websiteId;d.endpoint=e;if(on&&d.autoTrack!="false"){\n'
)
_UMAMI_SUFFIX = (
    'document.addEventListener("click",v=>{try{const a=v.target.closest("[data-umami-event]");'
    "if(a){const o={};for(const k of a.getAttributeNames()){const m=/^data-umami-event-(.+)/"
    ".exec(k);m&&(o[m[1]]=a.getAttribute(k))}t(a.dataset.umamiEvent,o)}}catch(x){}},!0)}"
    "}catch(x){}})();\n"
)
UMAMI_SCRIPT_NAME = "script.js"


def umami_script(tracker: bytes) -> bytes:
    """The tracker as served at Umami's ``/script.js``: run for the tag's website id, with
    ``window.umami``."""
    return _UMAMI_PREFIX.encode() + tracker + _UMAMI_SUFFIX.encode()


def plausible_extensions(filename: str) -> frozenset[str] | None:
    """The extensions a Plausible script name asks for (``script.hash.outbound-links.js`` →
    hash and outbound-links, in any order), or None when it is not a name footfall serves:
    another base name, an unknown or repeated extension."""
    if not filename.endswith(".js"):
        return None
    base, *extensions = filename[: -len(".js")].split(".")
    wanted = frozenset(extensions)
    if base not in PLAUSIBLE_SCRIPT_NAMES or len(wanted) != len(extensions):
        return None
    return wanted if wanted <= PLAUSIBLE_EXTENSIONS.keys() else None


def plausible_script(tracker: bytes, extensions: frozenset[str]) -> bytes:
    """The tracker as served under a Plausible script name: a prefix that maps the tag's
    attributes and turns on the extensions' options, the tracker, and the ``window.plausible``
    alias."""
    options = ";".join(
        PLAUSIBLE_EXTENSIONS[e] for e in sorted(extensions) if PLAUSIBLE_EXTENSIONS[e]
    )
    prefix = _PLAUSIBLE_PREFIX.replace("OPTIONS", options)
    suffix = _PLAUSIBLE_SUFFIX + (_TAGGED_EVENTS if "tagged-events" in extensions else "")
    return prefix.encode() + tracker + suffix.encode()


class PlausibleScripts:
    """``GET /js/{name}``: every known Plausible script name (each set of extensions built on its
    first request, then kept), served and cached as ``/footfall.js`` is; 404 for other names."""

    def __init__(self, tracker: bytes) -> None:
        self.tracker = tracker
        self.scripts: dict[frozenset[str], TrackerScript] = {}

    def script(self, extensions: frozenset[str]) -> TrackerScript:
        found = self.scripts.get(extensions)
        if found is None:
            found = TrackerScript(plausible_script(self.tracker, extensions))
            self.scripts[extensions] = found
        return found

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        extensions = plausible_extensions(scope["path_params"]["name"])
        if extensions is None:
            await PlainTextResponse("not found", status_code=404)(scope, receive, send)
            return
        await self.script(extensions)(scope, receive, send)


def tracker_routes() -> list[BaseRoute]:
    tracker = load_tracker()
    script = TrackerScript(tracker, load_tracker_gzip())
    return [
        Route("/footfall.js", script, methods=["GET", "HEAD"]),
        Route("/footfall.{version}.js", script, methods=["GET", "HEAD"]),
        Route("/js/{name}", PlausibleScripts(tracker), methods=["GET", "HEAD"]),
        Route(
            f"/{UMAMI_SCRIPT_NAME}", TrackerScript(umami_script(tracker)), methods=["GET", "HEAD"]
        ),
    ]
