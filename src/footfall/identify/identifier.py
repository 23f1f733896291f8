"""The identify stage: picks the app's identity mode for each hit."""

from __future__ import annotations

from footfall.identify.cookieless import CookielessIdentifier
from footfall.identify.cookies import CookieIdentifier
from footfall.model import App, Context, Hit


class Identifier:
    """``cookie`` (server-set cookies), ``first-party`` (ids the tracker sends as vid/sid) or
    ``cookieless`` (a daily-salted hash). Every identified hit records its mode in ``identity``."""

    def __init__(self, cookies: CookieIdentifier, cookieless: CookielessIdentifier) -> None:
        self.cookies = cookies
        self.cookieless = cookieless

    def identify(self, hit: Hit, ctx: Context, app: App, now: int) -> list[str]:
        """Fill the hit's visitor, session and identity; return Set-Cookie values to send."""
        mode = app.identity
        if mode == "cookieless":
            return self.cookieless.identify(hit, ctx, app.id, now)
        return self.cookies.identify(hit, ctx, now, first_party=mode == "first-party")
