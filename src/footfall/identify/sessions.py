"""Server-side memory of when each session was last seen, so a session ends after a quiet period
even when a client keeps sending an old session id (and so tests can move a frozen clock).

Memory matters here: a busy site opens tens of thousands of sessions every half hour and each is
remembered for the whole timeout. Session ids are therefore kept by their 64-bit hash, in a
``SessionTable`` from footfall's C module: one 16-byte slot a session and no Python object (as a
dict of ints, ~90 bytes and two objects a session, whose scattered key objects also kept the
interpreter's memory arenas from being returned after a burst: docs/benchmarks.md). Without the C
module, :class:`DictTable` does the same with a dict. Two ids with the same hash (odds ~1e-8 at a
million live sessions; the hash is salted per process) at worst end one session early or late.
"""

from __future__ import annotations

import threading
from typing import Protocol

from footfall.clock import Clock
from footfall.model import new_uuid


class LastSeen(Protocol):
    """Last-seen times (ms) by session key hash."""

    def get(self, key: int, /) -> int | None: ...
    def set(self, key: int, seen_ms: int, /) -> None: ...
    def prune(self, cutoff_ms: int, /) -> int: ...
    def keep_newest(self, n: int, /) -> int: ...
    def __len__(self) -> int: ...


class DictTable:
    """The C ``SessionTable``'s twin in Python (a dict; hits of the same millisecond share one
    timestamp object). Keys are reduced to 64 bits as there; 0 and 1 are one key."""

    def __init__(self) -> None:
        self._seen: dict[int, int] = {}
        self._stamp = 0

    @staticmethod
    def _key(key: int) -> int:
        return (key & 0xFFFF_FFFF_FFFF_FFFF) or 1

    def get(self, key: int, /) -> int | None:
        return self._seen.get(self._key(key))

    def set(self, key: int, seen_ms: int, /) -> None:
        if seen_ms != self._stamp:
            self._stamp = seen_ms
        self._seen[self._key(key)] = self._stamp

    def prune(self, cutoff_ms: int, /) -> int:
        before = len(self._seen)
        self._seen = {k: t for k, t in self._seen.items() if t >= cutoff_ms}
        return before - len(self._seen)

    def keep_newest(self, n: int, /) -> int:
        before = len(self._seen)
        if before > n:
            newest = sorted(self._seen.items(), key=lambda kv: kv[1])[before - max(n, 0) :]
            self._seen = dict(newest)
        return before - len(self._seen)

    def __len__(self) -> int:
        return len(self._seen)


def new_table() -> LastSeen:
    try:
        from footfall._speedups import SessionTable
    except ImportError:  # no C module (no compiler at install): the dict does the same
        return DictTable()
    return SessionTable()


class SessionTracker:
    def __init__(
        self,
        clock: Clock,
        timeout_ms: int = 30 * 60_000,
        max_entries: int = 1_000_000,
        table: LastSeen | None = None,
    ) -> None:
        self.clock = clock
        self.timeout_ms = timeout_ms
        self.max_entries = max_entries
        self._last_seen = table if table is not None else new_table()  # session key hash -> ms
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
            self._last_seen.set(hash(key), now)
            if now >= self._next_prune or len(self._last_seen) > self.max_entries:
                self._prune(now)

    def _prune(self, now: int) -> None:
        cutoff = now - self.timeout_ms
        self._last_seen.prune(cutoff)
        self._sessions = {k: v for k, v in self._sessions.items() if v[1] >= cutoff}
        if len(self._last_seen) > self.max_entries:  # still too many: keep the newest
            self._last_seen.keep_newest(self.max_entries // 2)
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
