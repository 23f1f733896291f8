"""User agent → browser family and major version, OS family and version, and a device class.

Parsing uses ``ua-parser`` 1.x with the rules from ``ua-parser-builtins``, run by google-re2 (a
dependency): a new user agent costs tens of microseconds. ``ua-parser-rs`` is about twice as fast
on a new user agent but its compiled rule set takes ~27 MB of memory to re2's ~9 (measured,
docs/benchmarks.md), and user agents repeat; it is used only when re2 is missing. The pure-Python
resolver is 20–60x slower, so :func:`parser_implementation` says which one is active (the server
logs it at start-up). Real traffic repeats user agents, so results are cached per user-agent string and a
repeat costs one dictionary lookup. ``Sec-CH-UA*`` client hints refine the result when a browser
sends them (Windows 11, the real Android version, Brave, Edge, mobile).
"""

from __future__ import annotations

import functools
import importlib
import re
from typing import Any, NamedTuple

import ua_parser
from ua_parser import Domain

from footfall.model import App, Context, Hit

DEVICE_CLASSES = ("desktop", "mobile", "tablet", "tv", "bot", "other")

# Lower-case tokens that mark a big-screen device: smart TVs, streaming sticks, game consoles.
_TV_TOKENS = (
    "smart-tv",
    "smarttv",
    "smart tv",
    "web0s",
    "netcast",
    "hbbtv",
    "android tv",
    "googletv",
    "google tv",
    "appletv",
    "apple tv",
    "crkey",
    "roku",
    "bravia",
    "philipstv",
    "vizio",
    "; aft",  # Amazon Fire TV models: AFTMM, AFTT, AFTKA ...
    "xbox",
    "playstation",
    "nintendo",
    " tv safari",
    "; tv;",
)
_TABLET_DEVICES = ("iPad", "Kindle", "Generic Tablet")
_MOBILE_DEVICES = ("iPhone", "iPod", "Generic Smartphone", "Generic Feature Phone")
_DESKTOP_OS = frozenset(
    {
        "Windows",
        "Mac OS X",
        "macOS",
        "Linux",
        "Ubuntu",
        "Debian",
        "Fedora",
        "Red Hat",
        "Chrome OS",
        "FreeBSD",
        "OpenBSD",
        "NetBSD",
        "Solaris",
    }
)
_OS_NAMES = {"Mac OS X": "macOS"}  # the few library names we show differently
_CH_PLATFORMS = {
    "windows": "Windows",
    "macos": "macOS",
    "android": "Android",
    "linux": "Linux",
    "chrome os": "Chrome OS",
    "chromium os": "Chrome OS",
    "ios": "iOS",
}
# Client-hint brands that name a browser the user agent string hides (they all say "Chrome").
_CH_BRANDS = {
    "microsoft edge": "Edge",
    "opera": "Opera",
    "opera gx": "Opera GX",
    "brave": "Brave",
    "vivaldi": "Vivaldi",
    "yandex": "Yandex Browser",
    "yabrowser": "Yandex Browser",
    "samsung internet": "Samsung Internet",
    "duckduckgo": "DuckDuckGo",
}
_CHROMIUM_FAMILIES = frozenset(
    {"Chrome", "Chrome Mobile", "Chromium", "Chrome Mobile WebView", "Other"}
)

# HTTP libraries' default user agents: on a server-side request (``Context.server_side``) they name
# the sending server's library, not the visitor's browser, so such a hit is a visitor with device
# ``other`` and no browser or OS, not a bot. Command-line clients (curl, Wget, HTTPie) are not here:
# they are a person or a script fetching, a bot everywhere. An empty user agent counts as a library's.
HTTP_LIBRARY = re.compile(
    r"^(?:python-requests|python-urllib|python-httpx|aiohttp|urllib3|axios|node-fetch|undici|node"
    r"|go-http-client|okhttp|java|apache-httpclient|jakarta|guzzlehttp|reqwest|faraday|ruby"
    r"|deno|bun|footfall-python-tracker)\b",
    re.IGNORECASE,
)


def is_http_library(ua: str) -> bool:
    """An empty user agent, or an HTTP library's own (``HTTP_LIBRARY``)."""
    ua = ua.strip()
    return not ua or HTTP_LIBRARY.match(ua) is not None


def senders_agent(ua: str, ctx: Context) -> bool:
    """The user agent is the server-side sender's library, not its visitor's (docs/enrichment.md)."""
    return ctx.server_side and is_http_library(ua)


class UserAgentInfo(NamedTuple):
    browser: str | None
    browser_version: str | None
    os: str | None
    os_version: str | None
    device: str
    spider: bool  # the parser's own rules call it a crawler


@functools.cache
def resolver_class() -> Any:
    """ua-parser's resolver to use: google-re2's, else ua-parser-rs's, else the pure-Python one."""
    for module in ("ua_parser.re2", "ua_parser.regex"):
        try:
            return importlib.import_module(module).Resolver
        except ImportError:  # the engine it wraps is not installed
            continue
    return ua_parser.basic.Resolver


def parser_implementation() -> str:
    """Which ua-parser resolver is active, for the start-up log."""
    module = resolver_class().__module__
    version = ".".join(map(str, getattr(ua_parser, "VERSION", ())))
    if module.endswith(".re2"):
        return f"ua-parser {version} with google-re2"
    if module.endswith(".regex"):
        return f"ua-parser {version} with the ua-parser-rs accelerator"
    return f"ua-parser {version}, pure Python (20-60x slower: pip install google-re2)"


def is_accelerated() -> bool:
    return not resolver_class().__module__.endswith(".basic")


def _version(major: str | None, minor: str | None = None) -> str | None:
    if not major:
        return None
    return f"{major}.{minor}" if minor else major


def device_class(ua: str, device_family: str, device_brand: str | None, os_family: str) -> str:
    """desktop, mobile, tablet, tv, bot or other — ua-parser has families, not classes."""
    if device_family == "Spider":
        return "bot"
    lower = ua.lower()
    if any(token in lower for token in _TV_TOKENS):
        return "tv"
    if (
        device_family.startswith(_TABLET_DEVICES)
        or device_brand == "Generic_Android_Tablet"
        or "tablet" in lower
    ):
        return "tablet"
    if (
        device_family.startswith(_MOBILE_DEVICES)
        or "mobile" in lower
        or os_family in ("iOS", "Android", "Windows Phone", "KaiOS")
    ):
        return "mobile"
    if os_family in _DESKTOP_OS or os_family.startswith("Windows"):
        return "desktop"
    return "other"


class UserAgentParser:
    """Parses user agents with the best available ua-parser resolver, cached per string."""

    def __init__(self, cache_size: int = 65_536) -> None:
        matchers = ua_parser.load_lazy_builtins() if is_accelerated() else ua_parser.load_builtins()
        self._resolve = resolver_class()(matchers)
        self.implementation = parser_implementation()
        self.parse = (
            functools.lru_cache(maxsize=cache_size)(self._parse) if cache_size else self._parse
        )
        self.refine = (
            functools.lru_cache(maxsize=cache_size // 4 or 1)(self._refine)
            if cache_size
            else self._refine
        )

    def _parse(self, ua: str) -> UserAgentInfo:
        if not ua:
            return UserAgentInfo(None, None, None, None, "other", False)
        result = self._resolve(ua, Domain.ALL).complete()
        agent, os, dev = result.user_agent, result.os, result.device
        browser = agent.family if agent and agent.family != "Other" else None
        os_family = os.family if os else "Other"
        return UserAgentInfo(
            browser=browser,
            browser_version=agent.major if agent and browser else None,
            os=_OS_NAMES.get(os_family, os_family) if os_family != "Other" else None,
            os_version=_version(os.major, os.minor) if os and os_family != "Other" else None,
            device=device_class(
                ua, dev.family if dev else "Other", dev.brand if dev else None, os_family
            ),
            spider=bool(dev and dev.family == "Spider"),
        )

    def _refine(self, ua: str, hints: tuple[str, str, str, str]) -> UserAgentInfo:
        """The parse of ``ua`` corrected by client hints (brands, mobile, platform, platform version)."""
        info = self.parse(ua)
        brands, mobile, platform, platform_version = hints
        browser, browser_version, os, os_version, device = info[:5]
        for name, version in _parse_brands(brands):
            better = _CH_BRANDS.get(name.lower())
            if better and (browser in _CHROMIUM_FAMILIES or browser is None):
                browser, browser_version = better, version or browser_version
                break
        platform = _CH_PLATFORMS.get(platform.strip('" ').lower(), "")
        if platform:
            if os is None:
                os = platform
            version = platform_version.strip('" ')
            major, _, rest = version.partition(".")
            if platform == os and major.isdigit() and int(major) > 0:
                if platform == "Windows":  # every Windows 10+ UA says "NT 10.0"
                    os_version = "11" if int(major) >= 13 else "10"
                elif platform == "macOS":
                    minor = rest.partition(".")[0]
                    os_version = f"{major}.{minor}" if minor and minor != "0" else major
                else:
                    os_version = major
        if mobile.strip() == "?1" and device in ("desktop", "other"):
            device = "mobile"
        return UserAgentInfo(browser, browser_version, os, os_version, device, info.spider)


def _parse_brands(header: str) -> list[tuple[str, str | None]]:
    """``"Brand";v="1", ...`` → [(brand, major version)], without the GREASE placeholder brands."""
    out: list[tuple[str, str | None]] = []
    for item in header.split(","):
        name, _, params = item.partition(";")
        name = name.strip().strip('"')
        if not name or ("not" in name.lower() and "brand" in name.lower()):
            continue
        version = None
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "v":
                version = value.strip('"').partition(".")[0] or None
        out.append((name, version))
    return out


class UserAgentStep:
    """Fills browser, browser_version, os, os_version and device."""

    def __init__(self, parser: UserAgentParser) -> None:
        self.parser = parser

    def __call__(self, hit: Hit, ctx: Context, app: App) -> str | None:
        ua = hit.user_agent if hit.user_agent is not None else ctx.user_agent
        if senders_agent(ua, ctx):
            hit.browser = hit.browser_version = hit.os = hit.os_version = None
            hit.device = "other"
            return None
        headers = ctx.headers
        brands = headers.get("sec-ch-ua")
        # hints describe the requesting browser: not a user agent a server forwards for someone else
        if brands is not None and ua == headers.get("user-agent", "")[:512]:
            info = self.parser.refine(
                ua,
                (  # capped: the cache must not grow with what a client chooses to send
                    brands[:200],
                    headers.get("sec-ch-ua-mobile", "")[:4],
                    headers.get("sec-ch-ua-platform", "")[:40],
                    headers.get("sec-ch-ua-platform-version", "")[:40],
                ),
            )
        else:
            info = self.parser.parse(ua)
        hit.browser, hit.browser_version, hit.os, hit.os_version, hit.device = info[:5]
        return None
