"""Server-side memory of when each session was last seen, so a session ends after a quiet period
even when a client keeps sending an old session id (and so tests can move a frozen clock)."""

from __future__ import annotations

import threading

from footfall.clock import Clock
from footfall.model import new_uuid


class SessionTracker:
    def __init__(
        self, clock: Clock, timeout_ms: int = 30 * 60_000, max_entries: int = 1_000_000
    ) -> None:
        self.clock = clock
        self.timeout_ms = timeout_ms
        self.max_entries = max_entries
        self._last_seen: dict[str, int] = {}
        self._sessions: dict[str, tuple[str, int]] = {}  # visitor key -> (session id, last seen)
        self._lock = threading.Lock()
        self._next_prune = 0

    def is_expired(self, key: str, now: int) -> bool:
        """True when ``key`` was seen before and has been quiet longer than the timeout.
        A key never seen (e.g. after a restart) is trusted: the client's cookie expiry stands."""
        last = self._last_seen.get(key)
        return last is not None and now - last > self.timeout_ms

    def touch(self, key: str, now: int) -> None:
        with self._lock:
            self._last_seen[key] = now
            if now >= self._next_prune or len(self._last_seen) > self.max_entries:
                self._prune(now)

    def _prune(self, now: int) -> None:
        cutoff = now - self.timeout_ms
        self._last_seen = {k: t for k, t in self._last_seen.items() if t >= cutoff}
        self._sessions = {k: v for k, v in self._sessions.items() if v[1] >= cutoff}
        if len(self._last_seen) > self.max_entries:  # still too many: keep the newest
            newest = sorted(self._last_seen.items(), key=lambda kv: kv[1])[-self.max_entries // 2 :]
            self._last_seen = dict(newest)
        self._next_prune = now + 60_000

    def current(self, key: str, now: int) -> str | None:
        """The live session id of a visitor known by ``key``, without touching it (None: none)."""
        entry = self._sessions.get(key)
        if entry is None or now - entry[1] > self.timeout_ms:
            return None
        return entry[0]

    def session_for(self, key: str, now: int) -> str:
        """A session id for a visitor known only by ``key`` (a hash, a client id): the same id while
        hits keep coming less than the timeout apart, a new one after a quiet period."""
        with self._lock:
            entry = self._sessions.get(key)
            if entry is None or now - entry[1] > self.timeout_ms:
                entry = (new_uuid(), now)
            else:
                entry = (entry[0], max(now, entry[1]))
            self._sessions[key] = entry
            if len(self._sessions) > self.max_entries:
                cutoff = now - self.timeout_ms
                self._sessions = {k: v for k, v in self._sessions.items() if v[1] >= cutoff}
        return entry[0]

    def __len__(self) -> int:
        return len(self._last_seen)
