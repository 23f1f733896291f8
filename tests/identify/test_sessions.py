"""The session tracker: when a session id the server has seen counts as ended, and what it costs."""

from __future__ import annotations

import random
import sys
import tracemalloc

import pytest

from footfall.clock import FrozenClock
from footfall.identify.sessions import DictTable, LastSeen, SessionTracker, new_table
from footfall.model import Hit, new_uuid

TIMEOUT_MS = 30 * 60_000


def tracker(table: LastSeen | None = None, **kwargs: int) -> tuple[SessionTracker, FrozenClock]:
    clock = FrozenClock()
    return SessionTracker(clock, timeout_ms=TIMEOUT_MS, table=table, **kwargs), clock


def c_table() -> LastSeen:
    speedups = pytest.importorskip("footfall._speedups")  # CI builds it (FOOTFALL_REQUIRE_SPEEDUPS)
    table: LastSeen = speedups.SessionTable()
    return table


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


def remembered_cost(table: LastSeen, count: int = 50_000) -> tuple[float, int]:
    """Bytes traced and interpreter memory blocks still held, per remembered session."""
    sessions, clock = tracker(table)
    tracemalloc.start()
    try:
        before, blocks = tracemalloc.get_traced_memory()[0], sys.getallocatedblocks()
        for i in range(count):  # each hit brings a new id, as cookie-less first visits do
            sessions.touch(new_uuid(), clock.now_ms() + i // 20)  # ~20 hits a millisecond
        used = tracemalloc.get_traced_memory()[0] - before
        held = sys.getallocatedblocks() - blocks
    finally:
        tracemalloc.stop()
    assert len(sessions) == count
    return used / count, held


def test_a_remembered_session_costs_16_bytes_a_slot_and_no_object_in_the_c_table() -> None:
    used, held = remembered_cost(c_table())
    assert used < 48, f"{used:.0f} bytes per session"  # 16-byte slots, at most 70 % full
    assert held < 100  # no object per session: nothing pins the interpreter's arenas


def test_a_remembered_session_costs_under_100_bytes_in_the_dict_twin() -> None:
    used, held = remembered_cost(DictTable())
    assert used < 100, f"{used:.0f} bytes per session"
    assert held > 40_000  # an int object per session (what the C table avoids)


def test_the_server_uses_the_c_table_when_it_is_built() -> None:
    assert type(new_table()) is type(c_table())


def test_the_c_table_answers_as_its_python_twin() -> None:
    rng = random.Random(7)
    c, py = c_table(), DictTable()
    keys = [rng.getrandbits(64) - 2**63 for _ in range(5000)] + [0, 1, -1, 2**64 - 1, 2**64]
    for _ in range(100_000):
        key, roll = rng.choice(keys), rng.random()
        if roll < 0.6:
            seen = rng.randrange(10_000)
            c.set(key, seen)
            py.set(key, seen)
        elif roll < 0.995:
            assert c.get(key) == py.get(key)
        else:
            cutoff = rng.randrange(10_000)
            assert c.prune(cutoff) == py.prune(cutoff)
        assert len(c) == len(py)
    assert c.get(0) == py.get(0) == py.get(1)  # 0 and 1 are one key in both


@pytest.mark.parametrize("make", [c_table, DictTable])
def test_keeping_the_newest_keeps_exactly_that_many_and_the_most_recent(make: type) -> None:
    table = make()
    for key in range(1, 2001):
        table.set(key, key // 4)  # four entries a millisecond: ties at the cut
    assert table.keep_newest(999) == 1001 and len(table) == 999
    kept = [key for key in range(1, 2001) if table.get(key) is not None]
    assert len(kept) == 999 and min(kept) >= 1000  # the 1,000 newest are 1001-2000 (and ties)
    assert [table.get(k) for k in range(1004, 2001)] == [k // 4 for k in range(1004, 2001)]
    assert table.keep_newest(0) == 999 and len(table) == 0


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


def loaded(identity: str, visitor: str, session: str | None, ts: int) -> Hit:
    """A hit as the writer reads it from the spool."""
    return Hit(identity=identity, visitor_id=visitor, session_id=session, ts=ts)


def test_the_writer_gives_a_cookieless_visitor_one_session_per_visit() -> None:
    sessions, clock = tracker()
    start = clock.now_ms()
    visit = [loaded("cookieless", "v1", None, start + m * 60_000) for m in (0, 10, 39)]
    later = loaded("cookieless", "v1", None, start + 70 * 60_000)  # 31 quiet minutes
    other = loaded("cookieless", "v2", None, start + 60_000)
    for hit in [*visit, other, later]:
        sessions.assign(hit)
    assert len({h.session_id for h in visit}) == 1
    assert later.session_id not in (visit[0].session_id, None)
    assert other.session_id not in (visit[0].session_id, later.session_id, None)


def test_a_visit_that_began_before_midnight_keeps_yesterdays_visitor() -> None:
    """After midnight a cookieless hit brings its visitor's id under yesterday's salt in
    ``session_id``: the writer keeps the visit going under that id while it lasts."""
    sessions, clock = tracker()
    start = clock.now_ms()
    before = loaded("cookieless", "yesterday-id", None, start)
    after = loaded("cookieless", "today-id", "yesterday-id", start + 10 * 60_000)
    stranger = loaded("cookieless", "today-id-2", "yesterday-id-2", start + 10 * 60_000)
    for hit in (before, after, stranger):
        sessions.assign(hit)
    assert (after.visitor_id, after.session_id) == ("yesterday-id", before.session_id)
    assert stranger.visitor_id == "today-id-2" and stranger.session_id != before.session_id


def test_a_client_session_id_stands_until_it_has_been_quiet_too_long() -> None:
    sessions, clock = tracker()
    start, sid = clock.now_ms(), new_uuid()
    hits = [loaded("first-party", "v", sid, start + m * 60_000) for m in (0, 20, 40, 75, 80)]
    for hit in hits:
        sessions.assign(hit)
    kept, renewed = {h.session_id for h in hits[:3]}, {h.session_id for h in hits[3:]}
    assert kept == {sid}  # trusted while hits keep coming
    assert len(renewed) == 1 and sid not in renewed  # the client kept it 35 quiet minutes


def test_hits_out_of_order_between_collectors_join_the_session_they_fall_in() -> None:
    sessions, clock = tracker()
    start = clock.now_ms()
    hits = [loaded("cookieless", "v", None, start + s * 1000) for s in (5, 6, 1, 2, 7)]
    for hit in hits:
        sessions.assign(hit)
    assert len({h.session_id for h in hits}) == 1


def test_seeded_sessions_continue_after_a_restart() -> None:
    sessions, clock = tracker()
    start = clock.now_ms()
    sid = new_uuid()
    assert sessions.seed([("cookieless", "v1", "s-1", start), ("cookie", "v2", sid, start)]) == 2
    cookieless = loaded("cookieless", "v1", None, start + 20 * 60_000)
    cookie = loaded("cookie", "v2", sid, start + 40 * 60_000)
    sessions.assign(cookieless)
    sessions.assign(cookie)
    assert cookieless.session_id == "s-1"
    assert cookie.session_id != sid  # seen 40 quiet minutes ago: a new visit
