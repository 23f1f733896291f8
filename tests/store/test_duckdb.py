"""The DuckDB store: appended hits leave memory at a checkpoint, and a write can be numbered for
the rollup feed."""

from __future__ import annotations

from pathlib import Path

from footfall.store.duckdb import DuckDBStore
from tests.query.dataset import NOW_MS, one_hit_sessions

APP_ID = "00000000-0000-4000-8000-00000000000a"
IN_MEMORY = (
    "SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory() WHERE tag = 'IN_MEMORY_TABLE'"
)


def test_settle_moves_appended_hits_from_memory_to_the_file(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    store = DuckDBStore(str(path))
    store.fetch("SET checkpoint_threshold = '1GB'")  # no checkpoint of DuckDB's own meanwhile
    store.insert_events(one_hit_sessions(APP_ID, 20_000, NOW_MS))
    held = store.fetch(IN_MEMORY)[0][0]
    log = Path(f"{path}.wal")
    assert held > 4 << 20 and log.stat().st_size > 1 << 20  # uncompressed rows, and the log
    store.settle()
    assert store.fetch(IN_MEMORY)[0][0] < held / 8
    assert not log.exists() or log.stat().st_size == 0
    store.close()
    assert DuckDBStore(str(path)).count_events() == 20_000


def test_a_numbered_write_keeps_its_number_and_an_unnumbered_one_none(tmp_path: Path) -> None:
    store = DuckDBStore(str(tmp_path / "s.duckdb"))
    store.insert_events(one_hit_sessions(APP_ID, 3, NOW_MS), fold_seq=7)
    store.insert_events(one_hit_sessions(APP_ID, 2, NOW_MS))
    numbers = "SELECT fold_seq, count(*) FROM events GROUP BY ALL ORDER BY fold_seq NULLS LAST"
    assert store.fetch(numbers) == [(7, 3), (None, 2)]
