"""DuckDB's memory budget: the store runs within a resting limit (its cache of the file stays
under it), a statement that does not fit runs again with the limit raised to the most, a read
someone waits for (the query engine's) has the most from the start, and the store's next
settle() puts the limit back at rest once nothing raised is running. Without a resting limit, a
statement too big for the most is a clear error."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from footfall.store.base import StoreError, StoreOutOfMemory
from footfall.store.duckdb import DuckDBStore
from footfall.store.duckdb_memory import size_bytes

CACHED = "SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory()"
# a grouping whose states (lists of strings) DuckDB cannot spill to disk: ~100 MB in memory
TOO_BIG = "SELECT count(*), sum(len(l)) FROM (SELECT k, list(r) AS l FROM big GROUP BY k)"
FILL = (
    "CREATE TABLE big AS SELECT i % 200000 AS k, repeat(md5(CAST(i AS VARCHAR)), 3) AS r"
    " FROM range(1000000) t(i)"
)


def filled(path: Path, resting: str) -> DuckDBStore:
    store = DuckDBStore(str(path), resting_memory=resting)
    store.write([(FILL, [])])
    store.settle()
    return store


def test_the_file_cache_stays_within_the_resting_limit(tmp_path: Path) -> None:
    def cached_after_reading_everything(store: DuckDBStore) -> int:
        for read in (
            "SELECT max(k) FROM big",
            "SELECT max(r) FROM big",
            "SELECT max(upper(r)) FROM big",
        ):
            store.fetch(read)  # every block of the table read
        return int(store.fetch(CACHED)[0][0])

    unlimited = filled(tmp_path / "a.duckdb", "")
    assert cached_after_reading_everything(unlimited) > 40 << 20  # DuckDB keeps what it read
    resting = filled(tmp_path / "b.duckdb", "16MB")
    assert cached_after_reading_everything(resting) <= 16_000_000
    assert resting.memory.limit() == "15.2 MiB"  # 16 MB in DuckDB's binary units


def test_a_read_that_does_not_fit_runs_again_with_more_and_the_limit_rests(
    tmp_path: Path,
) -> None:
    store = filled(tmp_path / "r.duckdb", "16MB")
    assert store.fetch(TOO_BIG) == [(200_000, 1_000_000)]
    assert store.memory.limit() != "15.2 MiB"  # raised until the store settles
    store.settle()
    assert store.memory.limit() == "15.2 MiB"
    assert store.fetch(CACHED)[0][0] <= 16_000_000  # what the raised read cached is let go


def test_a_read_someone_waits_for_runs_with_the_most_from_the_start(tmp_path: Path) -> None:
    store = DuckDBStore(str(tmp_path / "q.duckdb"), memory_limit="1GB", resting_memory="16MB")
    assert store.answer("SELECT current_setting('memory_limit')") == [("953.6 MiB",)]
    store.settle()
    assert store.fetch("SELECT current_setting('memory_limit')") == [("15.2 MiB",)]


def test_a_write_that_does_not_fit_commits_once(tmp_path: Path) -> None:
    store = filled(tmp_path / "w.duckdb", "16MB")
    store.write([("CREATE TABLE log (n INTEGER)", [])])
    steps = [("INSERT INTO log VALUES (1)", []), (f"CREATE TABLE summary AS {TOO_BIG}", [])]
    store.write(steps)  # the first attempt rolled back, the second committed
    assert store.fetch("SELECT count(*) FROM log") == [(1,)]
    assert store.fetch("SELECT * FROM summary") == [(200_000, 1_000_000)]
    store.settle()
    assert store.memory.limit() == "15.2 MiB"


def test_the_limit_stays_raised_while_any_raised_work_runs(tmp_path: Path) -> None:
    store = DuckDBStore(str(tmp_path / "t.duckdb"), memory_limit="1GB", resting_memory="16MB")
    first_in, first_may_leave = threading.Event(), threading.Event()

    def first() -> None:
        with store.memory.raised():
            first_in.set()
            first_may_leave.wait(10)

    worker = threading.Thread(target=first)
    worker.start()
    first_in.wait(10)
    with store.memory.raised():
        assert store.memory.limit() == "953.6 MiB"
    store.settle()
    assert store.memory.limit() == "953.6 MiB"  # the first is still running raised
    first_may_leave.set()
    worker.join(10)
    store.settle()
    assert store.memory.limit() == "15.2 MiB"


def test_without_a_resting_limit_a_statement_too_big_is_a_clear_error(tmp_path: Path) -> None:
    store = filled(tmp_path / "n.duckdb", "")
    store.memory.configure("", "16MB")
    with pytest.raises(StoreOutOfMemory, match=r"DuckDB may use 15.2 MiB here \(--db-memory\)"):
        store.fetch(TOO_BIG)
    assert store.fetch("SELECT count(*) FROM big") == [(1_000_000,)]  # nothing damaged


def test_sizes_are_read_as_duckdb_reads_them_and_anything_else_is_refused(
    tmp_path: Path,
) -> None:
    assert size_bytes("64MB") == 64_000_000 and size_bytes("1.5 GiB") == 3 << 29
    for bad in ("64", "80%", "lots", "1 parsec"):
        with pytest.raises(ValueError, match="is not a memory size"):
            size_bytes(bad)
    with pytest.raises(StoreError, match="'lots' is not a memory size"):
        DuckDBStore(str(tmp_path / "bad.duckdb"), resting_memory="lots")


def test_a_raise_that_fails_counts_nothing_and_the_next_one_raises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When DuckDB refuses to raise the limit (an invalidated database refuses every statement),
    the work fails, and later work still gets the limit raised and then rested."""
    store = DuckDBStore(str(tmp_path / "t.duckdb"), memory_limit="1GB", resting_memory="16MB")
    budget = store.memory
    refuse_once = [duckdb.InvalidInputException("the database was invalidated")]

    def set_most(original: Callable[[], None] = budget._set_most) -> None:
        if refuse_once:
            raise refuse_once.pop()
        original()

    monkeypatch.setattr(budget, "_set_most", set_most)
    with pytest.raises(duckdb.InvalidInputException), budget.raised():
        pass
    assert budget.limit() == "15.2 MiB"
    with budget.raised():
        assert budget.limit() == "953.6 MiB"
    store.settle()
    assert budget.limit() == "15.2 MiB"
    store.close()
