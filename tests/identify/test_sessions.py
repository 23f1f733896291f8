"""The session tracker: when a session id the server has seen counts as ended, and what it costs."""

from __future__ import annotations

import tracemalloc

from footfall.clock import FrozenClock
from footfall.identify.sessions import SessionTracker
from footfall.model import new_uuid

TIMEOUT_MS = 30 * 60_000


def tracker(**kwargs: int) -> tuple[SessionTracker, FrozenClock]:
    clock = FrozenClock()
    return SessionTracker(clock, timeout_ms=TIMEOUT_MS, **kwargs), clock


def test_a_session_ends_only_after_more_than_the_timeout_without_a_hit() -> None:
    sessions, clock = tracker()
    sid = new_uuid()
    sessions.touch(sid, clock.now_ms())
    assert not sessions.is_expired(sid, clock.now_ms() + TIMEOUT_MS)
    assert sessions.is_expired(sid, clock.now_ms() + TIMEOUT_MS + 1)


def test_each_hit_slides_the_session() -> None:
    sessions, clock = tracker()
    sid = new_uuid()
    for _ in range(5):
        sessions.touch(sid, clock.now_ms())
        clock.advance(minutes=20)
        assert not sessions.is_expired(sid, clock.now_ms())
    clock.advance(minutes=11)
    assert sessions.is_expired(sid, clock.now_ms())


def test_an_id_never_seen_is_trusted() -> None:
    sessions, clock = tracker()
    sessions.touch(new_uuid(), clock.now_ms())
    assert not sessions.is_expired(new_uuid(), clock.now_ms() + 10 * TIMEOUT_MS)


def test_ids_that_differ_in_one_character_are_different_sessions() -> None:
    sessions, clock = tracker()
    sid = "6f1c2a9e-3b7d-4c55-9a21-0e8f4d2b7c10"
    other = sid[:-1] + "1"
    sessions.touch(sid, clock.now_ms())
    clock.advance(minutes=20)
    sessions.touch(other, clock.now_ms())
    clock.advance(minutes=15)
    assert sessions.is_expired(sid, clock.now_ms())
    assert not sessions.is_expired(other, clock.now_ms())


def test_ended_sessions_are_forgotten_when_pruned() -> None:
    sessions, clock = tracker()
    for _ in range(100):
        sessions.touch(new_uuid(), clock.now_ms())
    clock.advance(minutes=31)
    sessions.touch(new_uuid(), clock.now_ms())  # the next prune is due: the old 100 go
    assert len(sessions) == 1


def test_the_number_of_sessions_remembered_is_bounded() -> None:
    sessions, clock = tracker(max_entries=1000)
    for _ in range(5000):
        sessions.touch(new_uuid(), clock.now_ms())
    assert 0 < len(sessions) <= 1000


def test_a_remembered_session_costs_under_100_bytes() -> None:
    sessions, clock = tracker()
    count = 50_000
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(count):  # each hit brings a new id, as cookie-less first visits do
            sessions.touch(new_uuid(), clock.now_ms() + i // 20)  # ~20 hits a millisecond
        used = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(sessions) == count
    assert used / count < 100, f"{used / count:.0f} bytes per session"


def test_a_visitor_known_by_key_keeps_its_session_while_hits_keep_coming() -> None:
    sessions, clock = tracker()
    first = sessions.session_for("visitor-hash", clock.now_ms())
    clock.advance(minutes=29)
    assert sessions.session_for("visitor-hash", clock.now_ms()) == first
    clock.advance(minutes=29)
    assert sessions.current("visitor-hash", clock.now_ms()) == first
    clock.advance(minutes=2)  # current() did not extend it: 31 minutes since the last hit
    assert sessions.current("visitor-hash", clock.now_ms()) is None
    assert sessions.session_for("visitor-hash", clock.now_ms()) != first


def test_a_late_hit_does_not_move_a_session_back_in_time() -> None:
    sessions, clock = tracker()
    start = clock.now_ms()
    sid = sessions.session_for("client-1", start)
    sessions.session_for("client-1", start - 10 * 60_000)  # a hit sent with an older timestamp
    assert sessions.current("client-1", start + TIMEOUT_MS) == sid
