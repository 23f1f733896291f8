"""The hit buffer: bounded, flushes on size, timer and close, and never drops an accepted hit."""

from __future__ import annotations

import time
from pathlib import Path

from footfall.buffer import HitBuffer
from footfall.model import Hit, new_hit_id
from footfall.store import open_store
from footfall.store.duckdb import DuckDBStore


def hit(n: int) -> Hit:
    return Hit(
        hit_id=new_hit_id(),
        app_id="app",
        ts=1_767_225_600_000 + n,
        path=f"/{n}",
        props={"n": str(n)},
    )


def test_flushes_when_it_reaches_its_size(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "b.duckdb"))
    buffer = HitBuffer(store.append_hits, flush_size=100, interval=3600)
    buffer.start()
    try:
        for n in range(250):
            assert buffer.add(hit(n))
        # Size-triggered flushes take everything waiting when the flusher runs (one flush may take
        # 189 hits and leave 61), so what must be written without any timer is all but fewer
        # than flush_size: at least 151 of the 250.
        deadline = time.monotonic() + 60  # generous: the machine may be busy; no timer can fire
        while store.count_events() < 151 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert store.count_events() >= 151
        assert buffer.pending < 100
    finally:
        buffer.close()
    assert store.count_events() == 250


def test_flushes_on_its_timer(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "b.duckdb"))
    buffer = HitBuffer(store.append_hits, flush_size=10_000, interval=0.05)
    buffer.start()
    try:
        buffer.add(hit(1))
        deadline = time.monotonic() + 60
        while store.count_events() == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert store.count_events() == 1
    finally:
        buffer.close()


def test_refuses_hits_beyond_its_capacity(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "b.duckdb"))
    buffer = HitBuffer(store.append_hits, flush_size=10_000, capacity=5, interval=3600)
    assert [buffer.add(hit(n)) for n in range(7)] == [True] * 5 + [False] * 2
    assert buffer.flush() == 5
    assert buffer.add(hit(8))


def test_a_failed_write_keeps_its_hits_and_retries(tmp_path: Path) -> None:
    store = DuckDBStore(str(tmp_path / "b.duckdb"))
    buffer = HitBuffer(store.append_hits, flush_size=10_000, interval=3600)
    for n in range(3):
        buffer.add(hit(n))
    store.fetch("ALTER TABLE events RENAME TO events_away")  # the real table vanishes: inserts fail
    assert buffer.flush() == 0
    assert buffer.failures == 1 and buffer.pending == 3
    buffer.add(hit(3))
    store.fetch("ALTER TABLE events_away RENAME TO events")
    assert buffer.flush() == 4
    assert buffer.pending == 0
    assert [r[0] for r in store.fetch("SELECT path FROM events ORDER BY ts")] == [
        "/0",
        "/1",
        "/2",
        "/3",
    ]
    assert store.fetch("SELECT props FROM events WHERE path = '/3'") == [({"n": "3"},)]


def test_a_flush_writes_at_most_flush_size_hits_at_a_time(tmp_path: Path) -> None:
    """A flusher that fell behind (the machine busy, a slow disk) writes what waits in writes
    of flush_size: each write's transaction holds its hits twice until it commits."""
    store = DuckDBStore(str(tmp_path / "b.duckdb"))
    writes: list[int] = []

    def write(rows: list[tuple[object, ...]]) -> int:
        writes.append(len(rows))
        return store.append_hits(rows)

    buffer = HitBuffer(write, flush_size=100, interval=3600)
    for n in range(250):
        buffer.add(hit(n))
    assert buffer.flush() == 250
    assert writes == [100, 100, 50]
    assert store.fetch("SELECT count(DISTINCT path) FROM events") == [(250,)]
