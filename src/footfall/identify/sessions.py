"""Server-side memory of when each session was last seen, so a session ends after a quiet period
even when a client keeps sending an old session id (and so tests can move a frozen clock).

Memory matters here: a busy site opens tens of thousands of sessions every half hour and each is
remembered for the whole timeout. Session ids are therefore kept by their 64-bit hash (an int,
not the 36-character string: ~90 instead of ~160 bytes a session), and hits of the same
millisecond share one timestamp object. Two ids with the same hash (odds ~1e-8 at a million
live sessions; the hash is salted per process) at worst end one session early or late.
"""

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
        self._last_seen: dict[int, int] = {}  # hash of a session id -> last seen (ms)
        self._sessions: dict[str, tuple[str, int]] = {}  # visitor key -> (session id, last seen)
        self._lock = threading.Lock()
        self._next_prune = 0
        self._stamp = 0  # the last timestamp stored, reused for hits of the same millisecond

    def _shared(self, now: int) -> int:
        if now == self._stamp:
            return self._stamp
        self._stamp = now
        return now

    def is_expired(self, key: str, now: int) -> bool:
        """True when ``key`` was seen before and has been quiet longer than the timeout.
        A key never seen (e.g. after a restart) is trusted: the client's cookie expiry stands."""
        last = self._last_seen.get(hash(key))
        return last is not None and now - last > self.timeout_ms

    def touch(self, key: str, now: int) -> None:
        with self._lock:
            self._last_seen[hash(key)] = self._shared(now)
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
                entry = (new_uuid(), self._shared(now))
            elif now > entry[1]:
                entry = (entry[0], self._shared(now))
            self._sessions[key] = entry
            if len(self._sessions) > self.max_entries:
                cutoff = now - self.timeout_ms
                self._sessions = {k: v for k, v in self._sessions.items() if v[1] >= cutoff}
        return entry[0]

    def __len__(self) -> int:
        return len(self._last_seen)
