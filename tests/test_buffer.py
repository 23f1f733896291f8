"""The hit buffer: a hit is on disk before it is taken, reaches the store segment by segment, and is
stored exactly once whatever fails in between."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import msgspec
import pytest

from footfall.buffer import SPOOL_FULL, WRITE_ROWS, HitBuffer, Rows, decode, encode
from footfall.model import Hit, new_hit_id
from footfall.spool import Spool, SpoolReader
from footfall.store.duckdb import DuckDBStore


def hit(n: int) -> Hit:
    return Hit(
        hit_id=new_hit_id(),
        app_id="app",
        ts=1_767_225_600_000 + n,
        path=f"/{n}",
        props={"n": str(n)},
    )


class Parts:
    def __init__(self, tmp_path: Path) -> None:
        self.store = DuckDBStore(str(tmp_path / "b.duckdb"))
        self.directory = tmp_path / "spool"
        self.directory.mkdir()
        self.writes: list[int] = []

    def write(self, rows: Rows, name: str) -> int:
        self.writes.append(len(rows))
        return self.store.append_hits(rows, batch=name)

    def buffer(self, *, interval: float = 3600, max_bytes: int = 1 << 30) -> HitBuffer:
        spool = Spool(self.directory, owner="test", segment_age=interval, max_bytes=max_bytes)
        return HitBuffer(
            spool, SpoolReader(self.directory), self.write, self.store, interval=interval
        )

    def paths(self) -> list[str]:
        return [r[0] for r in self.store.fetch("SELECT path FROM events ORDER BY ts")]

    def segments(self) -> list[str]:
        return sorted(p.name for p in self.directory.iterdir() if not p.name.startswith("."))


@pytest.fixture
def parts(tmp_path: Path) -> Iterator[Parts]:
    made = Parts(tmp_path)
    yield made
    made.store.close()


def test_a_hit_is_a_record_of_its_fields_by_name() -> None:
    one = hit(1)
    assert decode(encode(one)) == one
    assert b"path" in encode(one) and b"utm_source" not in encode(one)  # empty fields left out


def test_a_flush_stores_what_was_added_and_empties_the_spool(parts: Parts) -> None:
    buffer = parts.buffer()
    assert [buffer.add(hit(n)) for n in range(3)] == [None] * 3
    assert buffer.pending == 3 and buffer.backlog_bytes > 0
    assert parts.store.count_events() == 0  # nothing reaches the store before a flush
    assert buffer.flush() == 3
    assert parts.paths() == ["/0", "/1", "/2"]
    assert parts.store.fetch("SELECT props FROM events WHERE path = '/2'") == [({"n": "2"},)]
    assert buffer.pending == 0 and parts.segments() == []
    buffer.close()


def test_the_writer_stores_hits_within_its_interval(parts: Parts) -> None:
    buffer = parts.buffer(interval=0.05)
    buffer.start()
    try:
        buffer.add(hit(1))
        deadline = time.monotonic() + 30  # generous: the machine may be busy
        while parts.store.count_events() == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert parts.store.count_events() == 1
    finally:
        buffer.close()


def test_a_full_spool_refuses_hits_and_takes_them_again_once_they_are_stored(
    parts: Parts,
) -> None:
    buffer = parts.buffer(max_bytes=3_000)
    taken = [buffer.add(hit(n)) for n in range(200)]
    assert None in taken and taken[-1] == SPOOL_FULL
    accepted = taken.count(None)
    assert buffer.flush() == accepted
    assert buffer.add(hit(1000)) is None  # the spool has room again
    buffer.close()
    assert parts.store.count_events() == accepted + 1


def test_a_failed_write_keeps_its_segment_and_a_later_flush_stores_it_once(
    parts: Parts,
) -> None:
    buffer = parts.buffer()
    for n in range(3):
        buffer.add(hit(n))
    parts.store.fetch("ALTER TABLE events RENAME TO events_away")  # inserts fail
    with pytest.raises(Exception, match="events"):
        buffer.flush()
    assert buffer.failures == 1 and buffer.write_error is not None
    assert len(parts.segments()) == 1
    buffer.add(hit(3))  # taken while the store fails
    parts.store.fetch("ALTER TABLE events_away RENAME TO events")
    assert buffer.flush() == 4
    assert buffer.write_error is None
    assert parts.paths() == ["/0", "/1", "/2", "/3"]
    buffer.close()


def test_a_segment_whose_hits_are_stored_already_is_removed_not_stored_again(
    parts: Parts,
) -> None:
    """A crash between the commit and the removal of the segment, or a commit reported as failed
    that still reached the database's log, leaves a segment whose hits are stored."""
    buffer = parts.buffer()
    for n in range(5):
        buffer.add(hit(n))
    buffer.spool.seal()
    (segment,) = SpoolReader(parts.directory).ready()
    records = SpoolReader(parts.directory).records(segment)
    rows = [msgspec.structs.astuple(decode(r)) for r in records]
    parts.store.append_hits(rows, batch=f"{segment.name}+0")  # its first (only) part
    assert buffer.flush() == 0
    assert parts.store.count_events() == 5 and parts.segments() == []
    buffer.close()


def test_hits_left_in_the_spool_are_stored_by_the_next_buffer(parts: Parts) -> None:
    first = parts.buffer()
    for n in range(4):
        first.add(hit(n))
    first.spool.close()  # the process ends before its writer ran (SIGKILL is tested with a server)
    second = parts.buffer()
    assert second.flush() == 4
    assert parts.paths() == ["/0", "/1", "/2", "/3"]
    second.close()


def test_a_store_that_stopped_answering_is_reconnected(parts: Parts) -> None:
    buffer = parts.buffer()
    buffer.add(hit(1))
    parts.store.close()  # as good as a connection DuckDB invalidated: every statement fails
    with pytest.raises(duckdb.Error):
        buffer.flush()
    buffer.repair()  # what the writer thread does after a failed round
    assert buffer.flush() == 1
    assert parts.store.count_events() == 1
    buffer.close()


def test_a_big_segment_is_written_in_parts_and_a_part_is_never_written_twice(
    parts: Parts,
) -> None:
    store_part = parts.write
    fail_next = {"at": 1}  # the second write fails, once

    def write_or_fail(rows: Rows, name: str) -> int:
        if len(parts.writes) == fail_next["at"]:
            fail_next["at"] = -1
            parts.writes.append(0)
            raise OSError(28, "No space left on device")
        return store_part(rows, name)

    parts.write = write_or_fail  # type: ignore[method-assign]
    buffer = parts.buffer()
    for n in range(2 * WRITE_ROWS + 1):
        buffer.add(hit(n))
    with pytest.raises(OSError):
        buffer.flush()
    assert parts.store.count_events() == WRITE_ROWS  # the first part is stored
    assert buffer.flush() == WRITE_ROWS + 1  # the rest, not the first part again
    assert parts.writes == [WRITE_ROWS, 0, WRITE_ROWS, 1]
    assert parts.store.fetch("SELECT count(DISTINCT path) FROM events") == [(2 * WRITE_ROWS + 1,)]
    assert parts.segments() == []
    buffer.close()
