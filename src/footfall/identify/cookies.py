"""Cookie identity: a long-lived visitor cookie and a sliding 30-minute session cookie, set by the
server on every stored hit. Incoming values that are valid UUIDs are reused; anything else is replaced.

The session cookie is the session's UUID, a dot and the time of its last hit (hexadecimal Unix
seconds), so any collector process can tell a session that ended, even when a client keeps
sending its cookie after its Max-Age, without remembering anything; the writer checks the same
for the stored hits (footfall.identify.sessions). A session cookie without the time (set by an
older footfall) is trusted, as its Max-Age is.
"""

from __future__ import annotations

from dataclasses import dataclass

from footfall.model import Context, Hit, new_uuid, parse_uuid


@dataclass(frozen=True, slots=True)
class CookieSpec:
    visitor_name: str = "_utma"
    session_name: str = "_utmb"
    visitor_max_age: int = 730 * 86_400  # seconds
    session_max_age: int = 30 * 60

    def header(self, name: str, value: str, max_age: int, secure: bool) -> str:
        cookie = f"{name}={value}; Max-Age={max_age}; Path=/; HttpOnly"
        return cookie + ("; SameSite=None; Secure" if secure else "; SameSite=Lax")


class CookieIdentifier:
    """Assigns visitor and session ids from cookies (or from ids a first-party tracker sent)."""

    def __init__(self, spec: CookieSpec) -> None:
        self.spec = spec

    def session(self, value: str | None, now: int) -> str | None:
        """The session a session cookie names, or None when it is not one or the session ended."""
        if not value:
            return None
        session, dot, seen = value.partition(".")
        session_id = parse_uuid(session)
        if session_id is None or not dot:
            return session_id
        if not 0 < len(seen) <= 12 or not all(c in "0123456789abcdef" for c in seen):
            return None
        if now - int(seen, 16) * 1000 > self.spec.session_max_age * 1000:
            return None
        return session_id

    def identify(self, hit: Hit, ctx: Context, now: int, *, first_party: bool = False) -> list[str]:
        """Fill ``hit.visitor_id``/``session_id``/``identity``; return Set-Cookie header values."""
        if first_party:
            visitor = parse_uuid(ctx.client_visitor)
            session = parse_uuid(ctx.client_session)
            identity = "first-party"
        else:
            visitor = parse_uuid(ctx.cookies.get(self.spec.visitor_name))
            session = self.session(ctx.cookies.get(self.spec.session_name), now)
            identity = "cookie"
        if visitor is None:
            visitor = new_uuid()
            session = None  # a new visitor cannot continue an old session
        if session is None:
            session = new_uuid()
        hit.visitor_id = visitor
        hit.session_id = session
        hit.identity = identity
        if first_party:
            return []  # the tracker keeps its own first-party cookies
        spec = self.spec
        return [
            spec.header(spec.visitor_name, visitor, spec.visitor_max_age, ctx.secure),
            spec.header(
                spec.session_name, f"{session}.{now // 1000:x}", spec.session_max_age, ctx.secure
            ),
        ]
