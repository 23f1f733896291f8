"""The hit fields shared by the pixel and the JSON endpoint: parsing, validation and length caps.

Only the names listed here are read; anything else a client sends is ignored.
"""

from __future__ import annotations

import math
import re
from urllib.parse import urlsplit

import msgspec

from footfall.collect.jsonbody import JsonError, decode_json
from footfall.model import Hit
from footfall.schema import cap_text, clean_props, strip_controls

PIXEL_FIELDS = frozenset(
    {
        "app",
        "path",
        "title",
        "platform",
        "language",
        "screensize",
        "pixelratio",
        "referrer",
        "url",
        "event",
        "props",
        "vid",
        "sid",
    }
)
_SCREEN = re.compile(r"([0-9]{1,5})[xX×]([0-9]{1,5})")
MIN_PIXEL_RATIO = 0.01  # a browser zoomed out to 25% reports 0.25; less, or 0, is junk
MAX_PIXEL_RATIO = 20.0
# at most 18 digits: fits an int64 (and int() refuses strings past 4300 digits: a ValueError)
_WHOLE = re.compile(r"[0-9]{1,18}")
_SIGNED_WHOLE = re.compile(r"[+-]?[0-9]{1,18}")
_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")
MAX_NUMBER_CHARS = 64
WEB_SCHEMES = ("http", "https")


class FieldError(ValueError):
    """A field value that makes the hit unusable; ``reason`` names it (e.g. invalid-screensize)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class EventPayload(msgspec.Struct, kw_only=True):
    """The JSON body of POST /api/event (same names as the pixel's parameters)."""

    app: str | None = None
    url: str | None = None
    path: str | None = None
    title: str | None = None
    referrer: str | None = None
    platform: str | None = None
    language: str | None = None
    screensize: str | None = None
    pixelratio: float | None = None
    event: str | None = None
    props: dict[str, str | int | float | bool | None] | None = None
    vid: str | None = None
    sid: str | None = None


def _opt(value: str | None) -> str | None:
    """Absent, or the value without control characters and surrounding space."""
    if value is None:
        return None
    value = strip_controls(value).strip()
    return value or None


def host_of(url: str) -> str | None:
    """The lower-case host of an absolute URL, or None; cheaper than urlsplit on the hot path."""
    start = url.find("://")
    if start < 0:
        return None
    rest = url[start + 3 :]
    end = len(rest)
    for stop in "/?#":
        i = rest.find(stop, 0, end)
        if i >= 0:
            end = i
    host = rest[:end].rpartition("@")[2]
    if host.startswith("["):
        host = host[1 : host.find("]")]
    else:
        host = host.partition(":")[0]
    return host.lower() or None


# Request numbers are read strictly: int() and float() also take Unicode digits ('²', '４２',
# '١٠'), underscores ('1_0'), surrounding space and 'nan'/'inf', which no sender means.


def whole_number(text: str, *, signed: bool = False) -> int | None:
    """ASCII digits (after one ``+``/``-`` when ``signed``) as an int, at most 18 of them; None for anything else."""
    if (_SIGNED_WHOLE if signed else _WHOLE).fullmatch(text) is None:
        return None
    return int(text)


def number(text: str) -> float | None:
    """A finite decimal number written in ASCII (``-12``, ``9.99``, ``.5``, ``1e3``), else None."""
    if len(text) > MAX_NUMBER_CHARS or _NUMBER.fullmatch(text) is None:
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def parse_screen(value: str | None) -> str | None:
    value = _opt(value)
    if value is None:
        return None
    m = _SCREEN.fullmatch(value)
    if not m:
        raise FieldError("invalid-screensize")
    w, h = int(m.group(1)), int(m.group(2))
    if (
        w == 0 or h == 0
    ):  # some webviews and privacy-hardened browsers report 0x0: unknown, not junk
        return None
    if w > 20_000 or h > 20_000:
        raise FieldError("invalid-screensize")
    return f"{w}x{h}"


def parse_pixel_ratio(value: str | float | None) -> float | None:
    """A plain decimal (``2``, ``1.25``) between MIN_PIXEL_RATIO and MAX_PIXEL_RATIO, or None."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        if len(value) > MAX_NUMBER_CHARS or _DECIMAL.fullmatch(value) is None:
            raise FieldError("invalid-pixelratio")
        ratio = float(value)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        ratio = float(value)
    else:
        raise FieldError("invalid-pixelratio")
    if not math.isfinite(ratio) or not MIN_PIXEL_RATIO <= ratio <= MAX_PIXEL_RATIO:
        raise FieldError("invalid-pixelratio")
    return round(ratio, 4)


def build_hit(
    *,
    app: str | None,
    url: str | None = None,
    path: str | None = None,
    title: str | None = None,
    referrer: str | None = None,
    platform: str | None = None,
    language: str | None = None,
    screensize: str | None = None,
    pixelratio: str | float | None = None,
    event: str | None = None,
    props: object = None,
    channel: str,
    page_header: str | None = None,
    app_schemes: bool = False,
) -> Hit:
    """Validate and cap the fields into a Hit. Raises FieldError for a value that is nonsense.

    ``page_header`` is the request's Referer header: for a pixel without ``url`` it names the page.
    ``url`` is an http(s) URL with a host; with ``app_schemes`` any other scheme but ``data:`` is
    taken too (``app://localhost/settings``), its host and path as far as the URL has them.
    """
    url = _opt(url)
    hostname: str | None = None
    if url is not None:
        try:
            parts = urlsplit(url)
            hostname = parts.hostname
        except ValueError:
            raise FieldError("invalid-url") from None
        if parts.scheme in WEB_SCHEMES:
            if not hostname:
                raise FieldError("invalid-url")
        elif not app_schemes or not parts.scheme or parts.scheme == "data":
            raise FieldError("invalid-url")
        if path is None:
            path = parts.path or "/"
    elif page_header:
        hostname = host_of(page_header)
    path = _opt(path)
    name = _opt(event) or "pageview"
    return Hit(
        app_id=_opt(app),
        event=cap_text("event", name) or "pageview",
        channel=channel,
        url=cap_text("url", url),
        hostname=cap_text("hostname", hostname.lower()) if hostname else None,
        path=cap_text("path", path),
        title=cap_text("title", _opt(title)),
        referrer=cap_text("referrer", _opt(referrer)),
        platform=cap_text("platform", _opt(platform)),
        language=cap_text("language", _opt(language)),
        screen=parse_screen(screensize),
        pixel_ratio=parse_pixel_ratio(pixelratio),
        props=clean_props(props),
    )


def decode_props_param(value: str | None) -> object:
    """The pixel may carry props as a JSON object in one parameter; anything else is ignored."""
    if not value:
        return None
    try:
        return decode_json(value)
    except JsonError:
        return None
