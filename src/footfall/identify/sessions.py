"""Server-side memory of when each session was last seen, so a session ends after a quiet period
even when a client keeps sending an old session id (and so tests can move a frozen clock)."""

from __future__ import annotations

import threading

from footfall.clock import Clock


class SessionTracker:
    def __init__(
        self, clock: Clock, timeout_ms: int = 30 * 60_000, max_entries: int = 1_000_000
    ) -> None:
        self.clock = clock
        self.timeout_ms = timeout_ms
        self.max_entries = max_entries
        self._last_seen: dict[str, int] = {}
        self._lock = threading.Lock()
        self._next_prune = 0

    def is_expired(self, key: str, now: int) -> bool:
        """True when ``key`` was seen before and has been quiet longer than the timeout.
        A key never seen (e.g. after a restart) is trusted: the client's cookie expiry stands."""
        last = self._last_seen.get(key)
        return last is not None and now - last > self.timeout_ms

    def last_seen(self, key: str) -> int | None:
        return self._last_seen.get(key)

    def touch(self, key: str, now: int) -> None:
        with self._lock:
            self._last_seen[key] = now
            if now >= self._next_prune or len(self._last_seen) > self.max_entries:
                self._prune(now)

    def _prune(self, now: int) -> None:
        cutoff = now - self.timeout_ms
        self._last_seen = {k: t for k, t in self._last_seen.items() if t >= cutoff}
        if len(self._last_seen) > self.max_entries:  # still too many: keep the newest
            newest = sorted(self._last_seen.items(), key=lambda kv: kv[1])[-self.max_entries // 2 :]
            self._last_seen = dict(newest)
        self._next_prune = now + 60_000

    def __len__(self) -> int:
        return len(self._last_seen)
