"""The DuckDB store: small row groups, appended hits leave memory at a checkpoint (which waits for
an append under way), a file is open once per process, and a write can be numbered for the
rollup feed."""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb
import msgspec
import pytest

from footfall.clock import FrozenClock
from footfall.model import App, Goal, Hit
from footfall.query.periods import as_utc
from footfall.schema import COLUMN_NAMES, EVENT_COLUMNS
from footfall.store.base import StoreBusy
from footfall.store.duckdb import DuckDBStore
from footfall.store.duckdb_file import ROW_GROUP_ROWS
from footfall.store.rollups import RollupFeed, Rollups
from tests.query.dataset import NOW_MS, one_hit_sessions

APP_ID = "00000000-0000-4000-8000-00000000000a"
IN_MEMORY = (
    "SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory() WHERE tag = 'IN_MEMORY_TABLE'"
)


def test_settle_moves_appended_hits_from_memory_to_the_file(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    store = DuckDBStore(str(path))
    store.fetch("SET checkpoint_threshold = '1GB'")  # no checkpoint of DuckDB's own meanwhile
    table = one_hit_sessions(APP_ID, 20_000, NOW_MS)
    for start in range(0, 20_000, 4_000):  # the buffer's writes: each less than a row group
        store.insert_events(table.slice(start, 4_000))
    held = store.fetch(IN_MEMORY)[0][0]
    log = Path(f"{path}.wal")
    assert held > 4 << 20 and log.stat().st_size > 1 << 20  # uncompressed rows, and the log
    store.settle()
    assert store.fetch(IN_MEMORY)[0][0] < held / 8
    assert not log.exists() or log.stat().st_size == 0
    store.close()
    assert DuckDBStore(str(path)).count_events() == 20_000


def test_settle_waits_for_an_append_under_way_instead_of_skipping(tmp_path: Path) -> None:
    """A checkpoint fails while another write transaction is open; under load the buffer's
    appends nearly always have one, so a settle that did not wait for them seldom happened."""
    store = DuckDBStore(str(tmp_path / "w.duckdb"))
    store.fetch("SET checkpoint_threshold = '1GB'")
    table = one_hit_sessions(APP_ID, 8_000, NOW_MS)
    for start in range(0, 8_000, 4_000):
        store.insert_events(table.slice(start, 4_000))
    held = store.fetch(IN_MEMORY)[0][0]
    appending = store._con.cursor()
    appending.execute("USE footfall")
    settled = threading.Thread(target=store.settle)
    with store._append_lock:  # what an append holds while its transaction is open
        appending.execute("BEGIN TRANSACTION")
        appending.execute("INSERT INTO events (app_id) VALUES (?)", [APP_ID])
        settled.start()
        settled.join(0.3)
        assert settled.is_alive()  # waiting for the append, not giving up
        appending.execute("COMMIT")
    settled.join(30)
    assert store.fetch(IN_MEMORY)[0][0] < held / 8
    assert store.count_events() == 8_001


def test_row_groups_are_small_so_checkpoints_stay_small(tmp_path: Path) -> None:
    """A checkpoint merges the small row groups appends leave into whole ones, holding a whole
    one uncompressed: peaks of ~94 MB at DuckDB's default of 122,880 rows, ~56 at ours."""
    path = tmp_path / "r.duckdb"
    store = DuckDBStore(str(path))
    table = one_hit_sessions(APP_ID, 40_000, NOW_MS)
    for start in range(0, 40_000, 5_000):
        store.insert_events(table.slice(start, 5_000))
        store.settle()
    store.close()
    for read_only in (False, True):
        reopened = DuckDBStore(str(path), read_only=read_only)
        groups = reopened.fetch(
            "SELECT row_group_id, max(count) FROM pragma_storage_info('events')"
            " WHERE segment_type <> 'VALIDITY' GROUP BY ALL"
        )
        assert max(rows for _, rows in groups) <= ROW_GROUP_ROWS
        assert sum(rows for _, rows in groups) == 40_000 and len(groups) >= 3
        assert reopened.count_events() == 40_000
        reopened.close()


def test_a_file_is_open_once_per_process(tmp_path: Path) -> None:
    path = str(tmp_path / "o.duckdb")
    store = DuckDBStore(path)
    with pytest.raises(StoreBusy, match="already open in this process"):
        DuckDBStore(path, read_only=True)
    store.close()
    DuckDBStore(path, read_only=True).close()


def test_a_numbered_write_keeps_its_number_and_an_unnumbered_one_none(tmp_path: Path) -> None:
    store = DuckDBStore(str(tmp_path / "s.duckdb"))
    store.insert_events(one_hit_sessions(APP_ID, 3, NOW_MS), fold_seq=7)
    store.insert_events(one_hit_sessions(APP_ID, 2, NOW_MS))
    numbers = "SELECT fold_seq, count(*) FROM events GROUP BY ALL ORDER BY fold_seq NULLS LAST"
    assert store.fetch(numbers) == [(7, 3), (None, 2)]


def full_hit(n: int) -> Hit:
    """A hit with every column set, values of each column's kind."""
    values: dict[str, object] = {}
    for column in EVENT_COLUMNS:
        values[column.name] = {
            "text": f"{column.name}-{n}",
            "timestamp": NOW_MS - n,
            "float": 1.5 + n,
            "int": 200 + n,
            "bool": n % 2 == 0,
            "props": {"plan": f"p{n}", "ab": "b"},
        }[column.kind]
    return msgspec.convert(values, Hit)


def test_appended_hits_keep_every_field(tmp_path: Path) -> None:
    store = DuckDBStore(str(tmp_path / "s.duckdb"))
    hits = [full_hit(0), full_hit(1)]
    assert store.append_hits([msgspec.structs.astuple(h) for h in hits], fold_seq=4) == 2
    names = ", ".join(COLUMN_NAMES)
    stored = store.fetch(f"SELECT {names}, fold_seq FROM events ORDER BY ts DESC")  # noqa: S608
    expected = [
        (
            *(
                as_utc(v) if c.kind == "timestamp" else v
                for c, v in zip(EVENT_COLUMNS, msgspec.structs.astuple(h), strict=True)
            ),
            4,
        )
        for h in hits
    ]
    assert stored == expected


def test_a_batch_with_a_bad_row_is_written_not_at_all(tmp_path: Path) -> None:
    store = DuckDBStore(str(tmp_path / "s.duckdb"))
    good = [msgspec.structs.astuple(full_hit(n)) for n in range(3)]
    bad = (*good[0][:-1], "not a map")  # props must be a mapping
    with pytest.raises(duckdb.Error):
        store.append_hits([*good, bad])
    assert store.count_events() == 0
    assert store.append_hits(good[:1]) == 1  # nothing of the failed batch is left staged
    assert store.count_events() == 1


def test_deleting_an_app_deletes_everything_stored_for_it_and_nothing_else(
    tmp_path: Path,
) -> None:
    store = DuckDBStore(str(tmp_path / "s.duckdb"))
    gone, kept = APP_ID, "00000000-0000-4000-8000-00000000000b"
    for app_id in (gone, kept):
        store.create_app(App(id=app_id, name=app_id[-1], url="https://a.example", created=1))
        store.insert_events(one_hit_sessions(app_id, 50, NOW_MS), fold_seq=1)
    rollups = Rollups(store, lambda _: "UTC")
    assert sorted(RollupFeed(rollups, FrozenClock(NOW_MS)).recover()) == [gone, kept]
    tables = [
        t
        for (t,) in store.fetch(
            "SELECT DISTINCT table_name FROM duckdb_columns() WHERE column_name = 'app_id'"
        )
    ]

    def rows_of(app_id: str) -> dict[str, int]:
        counts = {
            t: store.fetch(f"SELECT count(*) FROM {t} WHERE app_id = ?", [app_id])[0][0]  # noqa: S608
            for t in tables
        }
        return {t: n for t, n in counts.items() if n}

    assert {"events", "sessions", "rollup_hits", "rollup_hll", "rollup_feed"} <= set(rows_of(gone))
    before = rows_of(kept)
    assert store.delete_app(gone)
    assert rows_of(gone) == {} and store.get_app(gone) is None
    assert rows_of(kept) == before and store.get_app(kept) is not None
    assert not store.delete_app(gone)


def test_a_file_from_before_goals_gets_the_goal_tables_when_opened(tmp_path: Path) -> None:
    """Files made before goals existed have no goals or funnels tables: opened for writing they
    get them, in place, with everything else kept; opened read-only they answer no goals."""
    path = tmp_path / "old.duckdb"
    store = DuckDBStore(str(path))
    store.create_app(App(id=APP_ID, name="Old"))
    store.insert_events(one_hit_sessions(APP_ID, 10, NOW_MS))
    store.close()
    with duckdb.connect(str(path)) as con:  # as such a file is: no goal tables at all
        con.execute("DROP TABLE goals")
        con.execute("DROP TABLE funnels")
        names = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert "goals" not in names and "apps" in names
    reader = DuckDBStore(str(path), read_only=True)
    try:
        assert reader.list_goals(APP_ID) == [] and reader.list_funnels(APP_ID) == []
    finally:
        reader.close()
    upgraded = DuckDBStore(str(path))
    try:
        assert upgraded.get_app(APP_ID) is not None and upgraded.count_events(APP_ID) == 10
        goal = Goal(id="g1", app_id=APP_ID, name="Signup", event="signup")
        upgraded.create_goal(goal)
        assert upgraded.list_goals(APP_ID) == [goal]
    finally:
        upgraded.close()
    again = DuckDBStore(str(path), read_only=True)
    try:
        assert [g.name for g in again.list_goals(APP_ID)] == ["Signup"]
    finally:
        again.close()
