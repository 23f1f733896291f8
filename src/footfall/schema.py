"""The one event schema: every column a stored hit has, its type and its length cap.

Every stage agrees on these names. Backends map ``kind`` to their own SQL types; the buffer builds
one Arrow column per entry. Request fields never become column names: only this table does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ColumnKind = Literal["text", "timestamp", "float", "int", "bool", "props"]


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    kind: ColumnKind
    cap: int = 0  # maximum length in characters for text columns (0: not text)
    doc: str = ""


# Length caps (characters). Longer values are truncated, never rejected; see docs/event-format.md.
EVENT_COLUMNS: tuple[Column, ...] = (
    Column(
        "hit_id", "text", 64, "unique id of the hit (random, or derived for imports: idempotence)"
    ),
    Column("app_id", "text", 36, "the app's UUID"),
    Column("ts", "timestamp", 0, "UTC time of the hit, millisecond precision"),
    Column("event", "text", 128, "event name; `pageview` for page views"),
    Column(
        "channel",
        "text",
        16,
        "how it arrived: pixel, api, js, mp, gtag, server, matomo, import, log",
    ),
    Column(
        "visitor_id", "text", 64, "visitor id (cookie UUID, cookieless hash, or hashed client id)"
    ),
    Column("session_id", "text", 64, "session id"),
    Column(
        "identity",
        "text",
        16,
        "which method identified the visitor: cookie, cookieless, first-party, client-id, none",
    ),
    Column("url", "text", 2048, "full page URL"),
    Column("hostname", "text", 253, "host of the page URL"),
    Column("path", "text", 1024, "path of the page"),
    Column("title", "text", 512, "document title"),
    Column("referrer", "text", 2048, "full referrer URL"),
    Column("platform", "text", 64, "navigator.platform"),
    Column("language", "text", 35, "browser language (BCP 47 tag)"),
    Column("screen", "text", 16, "screen size as WxH"),
    Column("pixel_ratio", "float", 0, "devicePixelRatio"),
    Column("user_agent", "text", 512, "User-Agent header"),
    Column("ip", "text", 45, "client address, truncated unless --store-full-ip"),
    Column("status", "int", 0, "HTTP status of a server-side tracked response"),
    # enrichment (filled by footfall.enrich)
    Column("browser", "text", 64, "browser family"),
    Column("browser_version", "text", 32, "browser major version"),
    Column("os", "text", 64, "operating system family"),
    Column("os_version", "text", 32, "operating system version"),
    Column("device", "text", 16, "desktop, mobile, tablet, tv, bot or other"),
    Column("bot", "text", 64, "bot name when the hit came from a bot, else empty"),
    Column("country", "text", 2, "ISO 3166-1 alpha-2 country"),
    Column("region", "text", 64, "region (only with a MaxMind database)"),
    Column("city", "text", 128, "city (only with a MaxMind database)"),
    Column("referrer_host", "text", 253, "host of the referrer"),
    Column("source", "text", 64, "named referrer source, e.g. Google"),
    Column(
        "medium",
        "text",
        16,
        "search, social, ai, email, referral, direct, internal, paid (click ids), or the utm_medium",
    ),
    Column("utm_source", "text", 128, "utm_source"),
    Column("utm_medium", "text", 128, "utm_medium"),
    Column("utm_campaign", "text", 128, "utm_campaign"),
    Column("utm_term", "text", 128, "utm_term"),
    Column("utm_content", "text", 128, "utm_content"),
    Column("props", "props", 0, "custom event properties: string keys to string values"),
)

COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in EVENT_COLUMNS)
COLUMNS_BY_NAME: dict[str, Column] = {c.name: c for c in EVENT_COLUMNS}
TEXT_CAPS: dict[str, int] = {c.name: c.cap for c in EVENT_COLUMNS if c.kind == "text"}

# Custom event properties are bounded so a page cannot blow up a row.
PROPS_MAX_KEYS = 30
PROPS_KEY_CAP = 64
PROPS_VALUE_CAP = 256


def cap_text(name: str, value: str | None) -> str | None:
    """Truncate a text value to its column's cap (None stays None)."""
    if value is None:
        return None
    cap = TEXT_CAPS[name]
    return value if len(value) <= cap else value[:cap]


_CONTROL = dict.fromkeys([*range(0x20), 0x7F])  # C0 controls and DEL never belong in stored text


def strip_controls(text: str) -> str:
    """``text`` without C0 control characters and DEL (NUL, tab, newline, …)."""
    if text.isascii() and text.isprintable():
        return text
    return text.translate(_CONTROL)


def clean_props(raw: object) -> dict[str, str] | None:
    """Bound custom properties: at most PROPS_MAX_KEYS string keys, scalar values as strings,
    both without control characters (a key left empty is dropped)."""
    if not isinstance(raw, dict) or not raw:
        return None
    out: dict[str, str] = {}
    for key, value in raw.items():
        if len(out) >= PROPS_MAX_KEYS:
            break
        if not isinstance(key, str) or value is None or isinstance(value, dict | list):
            continue
        key = strip_controls(key)
        if not key:
            continue
        if isinstance(value, bool):
            text = "true" if value else "false"
        else:
            text = strip_controls(str(value))
        out[key[:PROPS_KEY_CAP]] = text[:PROPS_VALUE_CAP]
    return out or None
