"""Cookieless identity: nothing is stored on the device.

visitor id = BLAKE2b keyed with a daily random salt, over (app id, client address, user agent).
A fresh salt is drawn at each UTC midnight; the previous day's salt is kept so a visit that crosses
midnight keeps its visitor and session; salts older than 48 hours are destroyed. Without the salt the
id cannot be linked back to an address, and after 48 hours nobody has the salt. Salts are kept in the
store so a restart during the day keeps the same ids. Sessions are the writer's to assign
(footfall.identify.sessions): they end after 30 minutes without a hit. The address is used only
while the hit is processed.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from typing import Protocol

from footfall.clock import Clock
from footfall.model import Context, Hit

DAY_MS = 86_400_000
SALT_BYTES = 32


class SaltStore(Protocol):
    def load_salts(self, since_day: int) -> dict[int, bytes]: ...
    def save_salt(self, day: int, salt: bytes, created: int) -> None: ...
    def delete_salts(self, before_day: int) -> int: ...


class DailySalts:
    """Today's salt and yesterday's (if one was drawn), by UTC day number since the epoch."""

    def __init__(self, store: SaltStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self._lock = threading.Lock()
        self._day = -1
        self._today = b""
        self._yesterday: bytes | None = None

    def for_day(self, day: int) -> tuple[bytes, bytes | None]:
        if day != self._day:
            self._rotate(day)
        return self._today, self._yesterday

    def _rotate(self, day: int) -> None:
        with self._lock:
            if day == self._day:
                return
            self.store.delete_salts(day - 1)  # older than yesterday: destroyed
            salts = self.store.load_salts(day - 1)
            today = salts.get(day)
            if today is None:
                today = secrets.token_bytes(SALT_BYTES)
                self.store.save_salt(day, today, self.clock.now_ms())
                today = self.store.load_salts(day).get(day, today)  # another writer may have won
            self._today, self._yesterday, self._day = today, salts.get(day - 1), day


def visitor_hash(salt: bytes, app_id: str, ip: str, user_agent: str) -> str:
    material = f"{app_id}\x00{ip}\x00{user_agent}".encode("utf-8", "surrogatepass")
    return hashlib.blake2b(material, key=salt, digest_size=16).hexdigest()


class CookielessIdentifier:
    def __init__(self, salts: DailySalts, session_timeout_ms: int = 30 * 60_000) -> None:
        self.salts = salts
        self.session_timeout_ms = session_timeout_ms

    def identify(self, hit: Hit, ctx: Context, app_id: str, now: int) -> list[str]:
        """Fill ``visitor_id`` and ``identity``, and ``session_id`` with the visitor's id under
        yesterday's salt in the session timeout after midnight, for the writer to continue a
        visit that began yesterday (footfall.identify.sessions); no Set-Cookie values."""
        day = now // DAY_MS
        today, yesterday = self.salts.for_day(day)
        ua = hit.user_agent if hit.user_agent is not None else ctx.user_agent
        hit.visitor_id = visitor_hash(today, app_id, ctx.ip, ua)
        hit.session_id = None
        if yesterday is not None and now - day * DAY_MS <= self.session_timeout_ms:
            hit.session_id = visitor_hash(yesterday, app_id, ctx.ip, ua)
        hit.identity = "cookieless"
        return []
