"""Cookie identity: a long-lived visitor cookie and a sliding 30-minute session cookie, set by the
server on every stored hit. Incoming values that are valid UUIDs are reused; anything else is replaced."""

from __future__ import annotations

from dataclasses import dataclass

from footfall.identify.sessions import SessionTracker
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

    def __init__(self, spec: CookieSpec, sessions: SessionTracker) -> None:
        self.spec = spec
        self.sessions = sessions

    def identify(self, hit: Hit, ctx: Context, now: int, *, first_party: bool = False) -> list[str]:
        """Fill ``hit.visitor_id``/``session_id``/``identity``; return Set-Cookie header values."""
        if first_party:
            visitor = parse_uuid(ctx.client_visitor)
            session = parse_uuid(ctx.client_session)
            identity = "first-party"
        else:
            visitor = parse_uuid(ctx.cookies.get(self.spec.visitor_name))
            session = parse_uuid(ctx.cookies.get(self.spec.session_name))
            identity = "cookie"
        if visitor is None:
            visitor = new_uuid()
            session = None  # a new visitor cannot continue an old session
        if session is None or self.sessions.is_expired(session, now):
            session = new_uuid()
        self.sessions.touch(session, now)
        hit.visitor_id = visitor
        hit.session_id = session
        hit.identity = identity
        if first_party:
            return []  # the tracker keeps its own first-party cookies
        spec = self.spec
        return [
            spec.header(spec.visitor_name, visitor, spec.visitor_max_age, ctx.secure),
            spec.header(spec.session_name, session, spec.session_max_age, ctx.secure),
        ]
