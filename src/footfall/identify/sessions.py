"""The writer's memory of live sessions: it gives every hit its session as the spool is loaded, so
one process decides sessions whatever collector a hit came through, and a session ends after a
quiet period even when a client keeps sending an old session id.

:meth:`SessionTracker.assign` runs on each hit the writer loads, by the hit's ``identity``:

- ``cookieless`` and ``client-id`` (a visitor id without a session): the visitor's live session, or
  a new one after ``timeout_ms`` without a hit. In the spool a cookieless hit's ``session_id`` is
  not a session yet: it is the visitor's id under yesterday's salt when the hit came within the
  timeout after UTC midnight (footfall.identify.cookieless), so a visit crossing midnight keeps
  its visitor; else it is empty.
- ``cookie`` and ``first-party`` (a session id the client sent, or a new one): that id while its
  hits come less than the timeout apart, a new one after a quiet period.

Collectors append hits to the spool in arrival order and the writer loads segments in the order
they were created, so hits of one visitor sent through two collector processes can reach the
writer up to a segment's age (``--flush-interval``) out of order: a late hit joins the session it
falls in and never moves a session back in time. :meth:`SessionTracker.seed` restores the live
sessions from the store at start, so a restart does not split visits.

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
from collections.abc import Iterable
from typing import Protocol

from footfall.clock import Clock
from footfall.model import Hit, new_uuid


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
        self._renewed: dict[str, str] = {}  # a client's ended session id -> the one that followed
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
            self._touch(key, now)

    def _touch(self, key: str, now: int) -> None:
        last = self._last_seen.get(hash(key))
        if last is None or now > last:
            self._last_seen.set(hash(key), now)
        if now >= self._next_prune or len(self._last_seen) > self.max_entries:
            self._prune(now)

    def client_session(self, key: str, now: int) -> str:
        """The session a client-sent session id stands for: itself while its hits come less than
        the timeout apart (an id never seen is trusted), a new id after a quiet period, which
        later hits with the old id keep."""
        with self._lock:
            last = self._last_seen.get(hash(key))
            if last is not None and now - last > self.timeout_ms:
                session = self._renewed[key] = new_uuid()
            else:
                session = self._renewed.get(key, key)
            self._touch(key, now)
        return session

    def assign(self, hit: Hit) -> None:
        """Give a loaded hit its session (see the module docstring)."""
        visitor = hit.visitor_id
        if visitor is None:
            return
        if hit.identity == "cookieless":
            before = hit.session_id  # the visitor's id under yesterday's salt, after midnight
            if before and self.current(before, hit.ts) is not None:
                visitor = hit.visitor_id = before
            hit.session_id = self.session_for(visitor, hit.ts)
        elif hit.session_id is None:
            hit.session_id = self.session_for(visitor, hit.ts)
        else:
            hit.session_id = self.client_session(hit.session_id, hit.ts)

    def seed(self, sessions: Iterable[tuple[str | None, str, str, int]]) -> int:
        """Remember stored sessions, as (identity, visitor id, session id, last hit ms), so hits
        loaded after a restart continue them; returns how many."""
        n = 0
        with self._lock:
            for identity, visitor, session, last in sessions:
                if identity in ("cookie", "first-party"):
                    self._last_seen.set(hash(session), last)
                else:
                    entry = self._sessions.get(visitor)
                    if entry is None or last > entry[1]:
                        self._sessions[visitor] = (session, last)
                n += 1
        return n

    def _prune(self, now: int) -> None:
        cutoff = now - self.timeout_ms
        self._last_seen.prune(cutoff)
        self._sessions = {k: v for k, v in self._sessions.items() if v[1] >= cutoff}
        if len(self._last_seen) > self.max_entries:  # still too many: keep the newest
            self._last_seen.keep_newest(self.max_entries // 2)
        if self._renewed:
            self._renewed = {
                k: v for k, v in self._renewed.items() if self._last_seen.get(hash(k)) is not None
            }
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
