"""DuckDB spills beside the database file, never into the working directory (a service user
started from / cannot write there, and the first spill used to invalidate the database)."""

from __future__ import annotations

from pathlib import Path

import pytest

from footfall.store.base import StoreError
from footfall.store.duckdb import DuckDBStore


def test_spills_go_beside_the_file_not_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    store = DuckDBStore(str(tmp_path / "f.duckdb"), memory_limit="64MB", threads=1)
    try:
        spilled = store.fetch(
            "SELECT count(DISTINCT m) FROM (SELECT md5(range::VARCHAR) AS m FROM range(3000000)"
            " ORDER BY m)",
            [],
        )
        assert spilled == [(3_000_000,)]
        assert store.fetch("SELECT current_setting('temp_directory')", []) == [
            (str(tmp_path / "f.duckdb.tmp"),)
        ]
    finally:
        store.close()
    assert list(cwd.iterdir()) == []
    assert (tmp_path / "f.duckdb.tmp").is_dir()


def test_refuses_to_open_when_the_temp_directory_cannot_be_made(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(StoreError, match=r"a-file/spill.*--db-temp"):
        DuckDBStore(str(tmp_path / "f.duckdb"), temp_directory=str(blocker / "spill"))
