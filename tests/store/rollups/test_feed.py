"""Written batches reach the rollups together — at a size, after a wait, at shutdown — read back
from the events table by their write numbers, and a crash between writing and folding them in (or
in the middle of a fold) is made good exactly at the next start: no hit missing, none counted twice."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import msgspec
import pytest

from footfall.clock import FrozenClock
from footfall.model import App
from footfall.store.rollups import RollupFeed, Rollups
from footfall.store.rollups.bookkeeping import bookmark_step
from tests.query.dataset import NOW_MS, hits, load
from tests.store.rollups.test_fold import assert_same, engines


def setup(path: Path, **feed_options: int) -> tuple[Any, App, Rollups, RollupFeed, FrozenClock]:
    """The data set's apps in a new file, no events yet: ``write`` adds them as the buffer does."""
    store, berlin, other = load(path)
    store.fetch("DELETE FROM events")
    zones = {berlin.id: berlin.timezone, other.id: other.timezone}
    clock = FrozenClock(NOW_MS)
    rollups = Rollups(store, zones.get, clock=clock)
    return store, berlin, rollups, RollupFeed(rollups, clock, **feed_options), clock


def rows() -> list[tuple[object, ...]]:
    """The data set's hits as the buffer holds them."""
    return [msgspec.structs.astuple(hit) for hit in hits()]


def write(store: Any, feed: RollupFeed, batch: list[tuple[object, ...]]) -> None:
    """What a buffer flush does: the feed writes the batch to the events table, numbered."""
    assert feed.write(batch) == len(batch)


def rollup_pageviews(store: Any) -> int:
    return int(
        store.fetch("SELECT coalesce(sum(pageviews), 0) FROM rollup_hits WHERE dim = ''")[0][0]
    )


def raw_pageviews(store: Any) -> int:
    sql = "SELECT count(*) FROM events WHERE event = 'pageview' AND coalesce(bot, '') = ''"
    return int(store.fetch(sql)[0][0])


def test_batches_wait_until_enough_hits_have_been_written(tmp_path: Path) -> None:
    store, berlin, rollups, feed, _ = setup(tmp_path / "f.duckdb", max_rows=10_000)
    table = rows()
    half = len(table) // 2
    write(store, feed, table[:half])
    write(store, feed, table[half:])
    assert feed.waiting == len(table) and rollup_pageviews(store) == 0
    feed.max_rows = len(table)  # the next batch crosses the size: everything is folded in
    write(store, feed, table[:0])
    assert feed.waiting == len(table)  # an empty batch adds nothing and folds nothing
    assert feed.fold() == len(table) and feed.waiting == 0
    assert_same(*engines(store), berlin)


def test_a_size_threshold_folds_in_at_once(tmp_path: Path) -> None:
    store, berlin, rollups, feed, _ = setup(tmp_path / "f.duckdb", max_rows=5)
    table = rows()
    write(store, feed, table)
    assert feed.waiting == 0 and feed.folds == 1
    assert_same(*engines(store), berlin)


def record_steps(rollups: Rollups) -> list[tuple[int, int]]:
    """The (after, through) write numbers of every app's fold from now on."""
    steps: list[tuple[int, int]] = []
    folded = rollups.apply_stored

    def recorded(app_id: str, after: int, through: int, *args: Any) -> int:
        steps.append((after, through))
        return folded(app_id, after, through, *args)

    rollups.apply_stored = recorded  # type: ignore[method-assign]
    return steps


def test_a_fold_takes_at_most_max_rows_hits_in_whole_writes(tmp_path: Path) -> None:
    """A fold's memory grows with its hits: when more waits (a fold fell behind, shutdown), it
    is folded in bounded steps, each its own transaction."""
    store, berlin, rollups, feed, _ = setup(tmp_path / "f.duckdb", max_rows=6)
    table = [row for row in rows() if row[1] == berlin.id]  # one app: one fold per step
    steps = record_steps(rollups)
    write(store, feed, table[:4])  # write 1: 4 waiting
    write(store, feed, table[4:7])  # write 2: 7 waiting, due: a step of write 1 (4 + 3 > 6)
    assert steps == [(0, 1)] and feed.waiting == 3
    write(store, feed, table[7:9])  # write 3
    write(store, feed, table[9:])  # write 4 (4 hits): 9 waiting, due: writes 2 and 3 (5 hits)
    assert steps == [(0, 1), (1, 3)] and feed.waiting == 4
    feed.max_rows = 1  # every write is its own step, and one bigger than that still folds
    write(store, feed, table[:0])
    assert feed.fold() == 4 and steps[-1] == (3, 4) and feed.waiting == 0
    assert rollup_pageviews(store) == raw_pageviews(store)
    # the app's first fold saw hits written after its own: for later folds, not a rebuild
    assert store.fetch("SELECT count(*) FROM rollup_dirty WHERE unit = 'x'") == [(0,)]


def test_writes_left_by_a_crash_are_folded_in_bounded_steps(tmp_path: Path) -> None:
    store, berlin, rollups, feed, clock = setup(tmp_path / "f.duckdb", max_rows=10**6)
    table = rows()
    for start in range(0, len(table), 3):
        write(store, feed, table[start : start + 3])  # five writes, none folded in: a crash
    after_crash = RollupFeed(Rollups(store, rollups.tz_of, clock=clock), clock, max_rows=6)
    steps = record_steps(after_crash.rollups)
    assert after_crash.waiting == len(table)
    after_crash.recover()
    assert sorted(set(steps)) == [(0, 2), (2, 4), (4, 5)]  # two writes of 3 hits a step
    assert after_crash.waiting == 0
    assert rollup_pageviews(store) == raw_pageviews(store)
    assert_same(*engines(store), berlin)


def test_a_step_that_failed_is_folded_again_by_the_next_fold(tmp_path: Path) -> None:
    store, berlin, rollups, feed, _ = setup(tmp_path / "f.duckdb", max_rows=10**6)
    write(store, feed, rows())
    original_write = store.write
    failures = [RuntimeError("the disk is full")]

    def fail_the_last_bookmark_once(steps: Any, *args: Any, **options: Any) -> Any:
        if failures and steps == [bookmark_step("", 1)]:
            raise failures.pop()
        return original_write(steps, *args, **options)

    store.write = fail_the_last_bookmark_once
    with pytest.raises(RuntimeError):
        feed.fold()  # each app's fold committed, the bookmark for every app did not
    assert store.fetch("SELECT folded FROM rollup_feed WHERE app_id = ''") == []
    assert feed.fold() == 0  # taken again: nothing is folded twice, the bookmark moves
    assert store.fetch("SELECT folded FROM rollup_feed WHERE app_id = ''") == [(1,)]
    assert rollup_pageviews(store) == raw_pageviews(store)


def test_the_timer_folds_in_after_the_wait(tmp_path: Path) -> None:
    store, berlin, rollups, feed, clock = setup(
        tmp_path / "f.duckdb", max_rows=10**6, max_wait_ms=10_000
    )
    write(store, feed, rows())
    clock.advance(seconds=9)
    feed.tick()
    assert feed.folds == 0 and rollup_pageviews(store) == 0
    clock.advance(seconds=1)
    feed.tick()
    assert feed.folds == 1 and rollup_pageviews(store) > 0
    assert_same(*engines(store), berlin)


def test_writes_are_numbered_in_the_events_table_and_the_numbers_go_on_after_a_restart(
    tmp_path: Path,
) -> None:
    store, berlin, rollups, feed, clock = setup(tmp_path / "f.duckdb", max_rows=10**6)
    table = rows()
    write(store, feed, table[:3])
    write(store, feed, table[3:5])
    store.append_hits(table[5:6])  # not through the feed: not numbered, never folded
    numbers = "SELECT fold_seq, count(*) FROM events GROUP BY ALL ORDER BY fold_seq NULLS LAST"
    assert store.fetch(numbers) == [(1, 3), (2, 2), (None, 1)]
    assert feed.fold() == 5
    write(store, feed, table[6:7])  # number 3, not folded in: the process stops here
    later = RollupFeed(rollups, clock)
    assert later.recover() == [hits()[6].app_id]
    write(store, later, table[7:8])
    assert store.fetch(numbers)[2:] == [(3, 1), (4, 1), (None, 1)]


def test_a_crash_before_folding_in_is_made_good_exactly_at_the_next_start(tmp_path: Path) -> None:
    store, berlin, rollups, feed, clock = setup(tmp_path / "f.duckdb", max_rows=10**6)
    table = rows()
    half = len(table) // 2
    write(store, feed, table[:half])
    feed.fold()  # the first half reached the rollups
    write(store, feed, table[half:])  # the second half is written … and the process dies
    stored = raw_pageviews(store)
    assert 0 < rollup_pageviews(store) < stored  # the rollups are short, for now
    after_crash = RollupFeed(Rollups(store, rollups.tz_of, clock=clock), clock)
    assert berlin.id in after_crash.recover()
    assert rollup_pageviews(store) == stored  # no rebuild needed: the missing writes folded in
    assert store.fetch("SELECT count(*) FROM rollup_dirty WHERE unit = 'x'") == [(0,)]
    assert_same(*engines(store), berlin)
    assert RollupFeed(after_crash.rollups, clock).recover() == []  # and only once


def test_a_crash_in_the_middle_of_a_fold_counts_no_app_twice(tmp_path: Path) -> None:
    store, berlin, rollups, feed, clock = setup(tmp_path / "f.duckdb", max_rows=10**6)
    write(store, feed, rows())
    apps = [a for (a,) in store.fetch("SELECT DISTINCT app_id FROM events ORDER BY app_id")]
    assert len(apps) == 2
    folded = rollups.apply_stored

    def die_at_the_second_app(app_id: str, *args: Any) -> int:
        if app_id == apps[1]:
            raise KeyboardInterrupt  # the process dies: the first app's fold is committed
        return folded(app_id, *args)

    rollups.apply_stored = die_at_the_second_app  # type: ignore[method-assign]
    try:
        feed.fold()
    except KeyboardInterrupt:
        pass
    counted = "SELECT app_id, sum(pageviews) FROM rollup_hits WHERE dim = '' GROUP BY ALL"
    assert [a for a, _ in store.fetch(counted)] == [apps[0]]
    after_crash = RollupFeed(Rollups(store, rollups.tz_of, clock=clock), clock)
    assert after_crash.recover() == apps  # both looked at; the first from its own bookmark
    raw = (
        "SELECT app_id, count(*) FROM events WHERE event = 'pageview'"
        " AND coalesce(bot, '') = '' GROUP BY ALL"
    )
    assert sorted(store.fetch(counted)) == sorted(store.fetch(raw))
    assert_same(*engines(store), berlin)


def test_a_clean_fold_leaves_nothing_to_recover(tmp_path: Path) -> None:
    store, berlin, rollups, feed, clock = setup(tmp_path / "f.duckdb", max_rows=10**6)
    write(store, feed, rows())
    feed.fold()
    assert RollupFeed(rollups, clock).recover() == []


def test_a_started_feed_folds_on_its_own_thread(tmp_path: Path) -> None:
    store, berlin, rollups, feed, _ = setup(tmp_path / "f.duckdb", max_rows=5)
    folded_on: list[str] = []
    done = threading.Event()
    feed.after_fold = lambda: (folded_on.append(threading.current_thread().name), done.set())
    feed.start()
    try:
        write(store, feed, rows())  # over the size: handed to the feed's thread
        assert done.wait(30)
    finally:
        feed.close()
    assert folded_on == ["footfall-rollups"] and feed.waiting == 0
    assert_same(*engines(store), berlin)


def test_hits_are_written_while_a_fold_is_under_way(tmp_path: Path) -> None:
    """A long write transaction (a fold, a compaction) must not hold up the buffer's flushes:
    their hits would pile up in memory meanwhile."""
    store, berlin, rollups, feed, _ = setup(tmp_path / "f.duckdb", max_rows=10**6)
    with store._write_lock:  # what a write transaction under way holds
        flushed = threading.Thread(target=write, args=(store, feed, rows()))
        flushed.start()
        flushed.join(30)
        assert not flushed.is_alive()  # the hits are written, numbered
    assert store.fetch("SELECT count(*), min(fold_seq) FROM events") == [(len(hits()), 1)]


def test_a_fold_runs_on_one_duckdb_thread_and_puts_the_setting_back(tmp_path: Path) -> None:
    store, berlin, rollups, feed, _ = setup(tmp_path / "f.duckdb", max_rows=10**6)
    store.fetch("SET threads = 3")
    store._threads = 3  # what the store was opened with
    seen: list[str] = []
    feed.after_fold = lambda: seen.append(store.fetch("SELECT current_setting('threads')")[0][0])
    original_write = store.write

    def write_and_look(steps: Any, tables: Any = None, **options: Any) -> Any:
        steps = [*steps, ("SELECT current_setting('threads')", [])]
        out = original_write(steps, tables, **options)
        seen.append(out[-1][0][0])
        return out[:-1]

    store.write = write_and_look
    write(store, feed, rows())
    feed.fold()
    assert "1" in [str(s) for s in seen[:-1]]  # inside the fold's transaction
    assert str(seen[-1]) == "3"  # after it
    assert_same(*engines(store), berlin)


def test_an_app_whose_fold_fails_is_flagged_for_a_rebuild_and_the_others_are_folded(
    tmp_path: Path,
) -> None:
    store, berlin, rollups, feed, clock = setup(tmp_path / "f.duckdb", max_rows=10**6)
    write(store, feed, rows())
    apps = [a for (a,) in store.fetch("SELECT DISTINCT app_id FROM events ORDER BY app_id")]
    failing = next(a for a in apps if a != berlin.id)
    fetch = store.fetch

    def fetch_failing_for_one_app(sql: str, params: Any = ()) -> Any:
        if "fold_seq >" in sql and failing in list(params):
            raise RuntimeError("the store failed")
        return fetch(sql, params)

    store.fetch = fetch_failing_for_one_app
    feed.fold()  # logs the failure and goes on
    store.fetch = fetch
    assert store.fetch("SELECT app_id FROM rollup_dirty WHERE unit = 'x'") == [(failing,)]
    assert_same(*engines(store), berlin)  # the other app is folded in
    assert RollupFeed(rollups, clock).recover() == []  # and nothing is folded in twice later
