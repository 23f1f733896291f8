"""How footfall attaches a DuckDB file: where it spills, its row groups, the connection and its
memory budget (footfall.store.duckdb uses them)."""

from __future__ import annotations

import os
import tempfile
from typing import Any

import duckdb

from footfall.store.base import StoreBusy, StoreError
from footfall.store.duckdb_memory import MemoryBudget

DATABASE = "footfall"  # the file's name inside the connection
# Rows per row group (DuckDB's default: 122,880). A checkpoint merges the small row groups that
# appends leave behind into whole ones, holding the rows it merges uncompressed: peaks of ~94 MB
# at the default (the biggest part of a loaded server's peak memory), ~56 MB at this size (a
# throwaway script: 25 text columns, 5,000 rows a checkpoint). 8,192 rows peaked lower there but
# not in the ingest benchmark. Dashboard queries measured as fast or faster (finer min/max
# pruning); files ~35 % bigger (docs/benchmarks.md). A file attaches with it each time: DuckDB
# does not store it.
ROW_GROUP_ROWS = 16_384
# Row groups a big INSERT fills before it writes them to the file (DuckDB's default: 5). Until
# then they are held in memory, uncompressed, to the end of the transaction: a rollup fold's
# insert of 50,000 new sessions held ~29 MB; writing each group as it fills, ~10 MB.
# (Appends of hits are smaller than a row group and unaffected.)
WRITE_BUFFER_ROW_GROUPS = 1


def temp_directory_for(path: str) -> str:
    """DuckDB's spill directory for a database file: ``<file>.tmp`` beside it. Left to itself,
    DuckDB puts it in ``.tmp`` under the working directory, which a service user typically
    cannot write (``/``): the first spill then invalidated the database."""
    if path == ":memory:" or not path:
        return os.path.join(tempfile.gettempdir(), f"footfall-{os.getpid()}.tmp")
    return os.path.abspath(path) + ".tmp"


def attach(path: str, read_only: bool, config: dict[str, Any]) -> duckdb.DuckDBPyConnection:
    """A connection to the file, attached with row groups of ``ROW_GROUP_ROWS`` rows."""
    config = {"write_buffer_row_group_count": WRITE_BUFFER_ROW_GROUPS, **config}
    con = duckdb.connect(":memory:", config=config)
    options = f"ROW_GROUP_SIZE {ROW_GROUP_ROWS}" + (", READ_ONLY" if read_only else "")
    try:
        con.execute(f"ATTACH ? AS {DATABASE} ({options})", [path])
        con.execute(f"USE {DATABASE}")
    except BaseException:
        con.close()
        raise
    return con


def connect(
    path: str, read_only: bool, config: dict[str, Any], resting: str, most: str
) -> tuple[duckdb.DuckDBPyConnection, MemoryBudget]:
    """The file attached (:func:`attach`) and its memory budget; StoreError/StoreBusy naming
    what went wrong."""
    try:
        con = attach(path, read_only, config)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise StoreBusy(
                f"{path} is in use by another footfall process (DuckDB allows one)"
            ) from None
        raise StoreError(f"cannot open {path}: {exc}") from None
    except duckdb.Error as exc:  # e.g. a memory limit DuckDB cannot read
        if "already attached" in str(exc):
            raise StoreBusy(f"{path} is already open in this process") from None
        raise StoreError(f"cannot open {path}: {exc}") from None
    try:
        return con, MemoryBudget(con, resting, most)
    except (ValueError, duckdb.Error) as exc:
        con.close()
        raise StoreError(f"resting memory limit: {exc}") from None
