"""Identify: who sent a hit (visitor) and which visit it belongs to (session)."""

from footfall.identify.cookieless import CookielessIdentifier, DailySalts
from footfall.identify.cookies import CookieIdentifier, CookieSpec
from footfall.identify.identifier import Identifier
from footfall.identify.sessions import SessionTracker

__all__ = [
    "CookieIdentifier",
    "CookieSpec",
    "CookielessIdentifier",
    "DailySalts",
    "Identifier",
    "SessionTracker",
]
