"""Typed records passed between stages: a Hit on its way to the store, an App, and the request context."""

from __future__ import annotations

import os
import re
import threading
import uuid
from typing import Literal

import msgspec

IdentityMode = Literal["cookie", "cookieless", "first-party"]


class Hit(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One hit, with every column of ``footfall.schema.EVENT_COLUMNS`` (same names, same order)."""

    hit_id: str | None = None
    app_id: str | None = None
    ts: int = 0  # milliseconds since the epoch, UTC
    event: str = "pageview"
    channel: str = "pixel"
    visitor_id: str | None = None
    session_id: str | None = None
    identity: str | None = None
    url: str | None = None
    hostname: str | None = None
    path: str | None = None
    title: str | None = None
    referrer: str | None = None
    platform: str | None = None
    language: str | None = None
    screen: str | None = None
    pixel_ratio: float | None = None
    user_agent: str | None = None
    ip: str | None = None
    status: int | None = None
    browser: str | None = None
    browser_version: str | None = None
    os: str | None = None
    os_version: str | None = None
    device: str | None = None
    bot: str | None = None
    country: str | None = None
    region: str | None = None
    city: str | None = None
    referrer_host: str | None = None
    source: str | None = None
    medium: str | None = None
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    utm_term: str | None = None
    utm_content: str | None = None
    props: dict[str, str] | None = None


class Context(msgspec.Struct, kw_only=True):
    """What the request told us beyond the hit's own fields. Never stored as such."""

    ip: str = ""  # the real client address (after trusted-proxy resolution), full
    user_agent: str = ""
    secure: bool = False  # HTTPS (directly or via a trusted proxy)
    cookies: dict[str, str] = msgspec.field(default_factory=dict)
    headers: dict[str, str] = msgspec.field(default_factory=dict)  # lower-case names
    # ids sent by a first-party tracker (vid/sid) or a server-side client id (cid/uid)
    client_visitor: str | None = None
    client_session: str | None = None
    # the request came from a server sending for its visitor (/collect, /mp/collect, /api/send): an
    # HTTP library's user agent there is the sender's, not a bot's (docs/enrichment.md)
    server_side: bool = False


class App(msgspec.Struct, kw_only=True):
    """A tracked site or service. Settings beyond id/name/url live here with defaults, so new
    options never need a schema change (backends store them as one JSON document)."""

    id: str
    name: str
    url: str = ""
    created: int = 0  # ms since epoch
    timezone: str = "UTC"
    identity: IdentityMode = "cookieless"
    respect_dnt: bool = True  # honour DNT: 1 and Sec-GPC: 1
    dnt_action: Literal["anonymous", "drop"] = "anonymous"
    exclude_ips: list[str] = msgspec.field(default_factory=list)  # CIDR ranges
    exclude_paths: list[str] = msgspec.field(default_factory=list)  # glob patterns
    retention_days: int | None = None
    aliases: list[str] = msgspec.field(default_factory=list)  # e.g. UA-12345-6, G-XXXX
    api_secret: str = ""
    require_api_key: bool = False
    public_token: str | None = None
    store_full_ip: bool | None = None  # None: the server-wide setting

    @property
    def hostname(self) -> str:
        from urllib.parse import urlsplit

        return (urlsplit(self.url).hostname or "").lower() if self.url else ""


_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class _RandomPool:
    """Random bytes from the OS, fetched 4 KiB at a time: one system call per 256 ids."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool = b""
        self._pos = 0

    def take16(self) -> bytes:
        with self._lock:
            if self._pos + 16 > len(self._pool):
                self._pool, self._pos = os.urandom(4096), 0
            start = self._pos
            self._pos += 16
            return self._pool[start : start + 16]


_random = _RandomPool()


class ApiKey(msgspec.Struct, kw_only=True):
    """A Stats API key as stored: never the secret itself, only its SHA-256 (kept by the store)."""

    id: str  # short public id, shown in listings and used to revoke
    app_id: str | None = None  # None: every app
    name: str = ""
    created: int = 0  # ms since epoch
    revoked: int | None = None
    # may manage sites through the Sites API (create, change and delete apps, their goals and
    # shared links); only a key for every app
    sites: bool = False


class Goal(msgspec.Struct, kw_only=True):
    """Something an app's visitors should do (footfall.goals checks and makes them): a pageview
    of a path glob (``page``), or an event by name (``event``) whose ``props`` all match. A
    goal with a ``currency`` counts revenue: the amount in the property ``amount_prop``."""

    id: str
    app_id: str
    name: str  # unique within the app: the value of the `event:goal` dimension
    page: str = ""  # page goals: a path glob (footfall.globs)
    event: str = ""  # event goals: the event's name
    props: dict[str, str] = msgspec.field(default_factory=dict)  # event goals: every one matches
    currency: str = ""  # ISO 4217 (e.g. EUR): a revenue goal
    amount_prop: str = ""  # revenue goals: the property holding the amount
    created: int = 0  # ms since epoch

    @property
    def kind(self) -> Literal["page", "event"]:
        return "page" if self.page else "event"


class FunnelStep(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One step of a funnel: a goal of the app (by name), or a pageview of a path glob."""

    goal: str = ""
    page: str = ""

    @property
    def label(self) -> str:
        return self.goal or f"Visit {self.page}"


class Funnel(msgspec.Struct, kw_only=True):
    """An ordered list of 2–8 steps a visit should take (footfall.goals checks and makes them)."""

    id: str
    app_id: str
    name: str  # unique within the app
    steps: list[FunnelStep]
    created: int = 0  # ms since epoch


def new_uuid() -> str:
    """A random (version 4) UUID as text; a few times cheaper than ``str(uuid.uuid4())``."""
    b = bytearray(_random.take16())
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def new_hit_id() -> str:
    return _random.take16().hex()


def parse_uuid(value: str | None) -> str | None:
    """Canonical lower-case UUID text, or None when ``value`` is not a UUID."""
    if not value or len(value) > 40:
        return None
    if _CANONICAL_UUID.fullmatch(value):
        return value
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


# -- dashboard accounts ------------------------------------------------------------------------
Role = Literal["owner", "viewer"]


class User(msgspec.Struct, kw_only=True):
    """A person who may log in to the dashboard. Owners see and change everything; viewers only
    read the apps listed in ``apps``."""

    id: str
    email: str  # stored lower-case; unique
    password_hash: str  # Argon2id, PHC string
    role: Role = "viewer"
    apps: list[str] = msgspec.field(default_factory=list)  # app ids a viewer may read
    created: int = 0  # ms since epoch
    totp_secret: str | None = None  # base32 TOTP secret while two-factor login is on
    totp_step: int = 0  # the last 30-second step whose code was accepted (no code works twice)

    def can_read(self, app_id: str) -> bool:
        return self.role == "owner" or app_id in self.apps

    @property
    def is_owner(self) -> bool:
        return self.role == "owner"


class LoginSession(msgspec.Struct, kw_only=True):
    """A logged-in browser. The store keeps only a hash of the cookie value (``key``)."""

    key: str  # sha256 hex of the session cookie value
    user_id: str
    csrf: str  # synchronizer token for this session's forms
    created: int  # ms since epoch
    expires: int  # ms since epoch
    pending: bool = False  # the password was right, the two-factor code is still to come


class Invite(msgspec.Struct, kw_only=True):
    """An owner's one-time invitation: whoever opens its link sets the password of a new user
    with this email, role and apps. The store keeps only a hash of the link's token (``key``)."""

    id: str
    key: str  # sha256 hex of the token in the link
    email: str
    role: Role = "viewer"
    apps: list[str] = msgspec.field(default_factory=list)
    created: int = 0  # ms since epoch
    expires: int = 0  # ms since epoch
    invited_by: str = ""  # the owner's email
