"""The embedded default backend: one DuckDB file holds apps, their goals and funnels, and events."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import duckdb

from footfall.schema import EVENT_COLUMNS, Column
from footfall.store import duckdb_backup
from footfall.store.base import BackupInfo, Step, StoreError, StoreOutOfMemory
from footfall.store.duckdb_access import DuckDBAccess
from footfall.store.duckdb_accounts import DuckDBAccounts, first_row, rollback
from footfall.store.duckdb_file import DATABASE, connect, temp_directory_for
from footfall.store.duckdb_goals import DuckDBGoals
from footfall.store.duckdb_memory import MemoryBudget

if TYPE_CHECKING:
    import pyarrow as pa

_SQL_TYPES = {
    "text": "VARCHAR",
    "timestamp": "TIMESTAMP",
    "float": "DOUBLE",
    "int": "INTEGER",
    "bool": "BOOLEAN",
    "props": "MAP(VARCHAR, VARCHAR)",
}

log = logging.getLogger("footfall.store")


def column_ddl(column: Column) -> str:
    return f"{column.name} {_SQL_TYPES[column.kind]}"


# The appender's staging table: the events' columns, but the timestamp as the hit's int (ms),
# which DuckDB's appender does not convert to TIMESTAMP; the INSERT from it converts.
# the batches (spool segments) whose hits are stored, each recorded in the transaction of its hits
_LOADED_DDL = (
    "CREATE TABLE IF NOT EXISTS loaded_batches (name VARCHAR PRIMARY KEY, hits BIGINT NOT NULL,"
    " loaded TIMESTAMP NOT NULL)"
)
_LOADED = "INSERT INTO loaded_batches VALUES (?, ?, ?)"
_FIND_LOADED = "SELECT name FROM loaded_batches WHERE name IN (SELECT unnest(?))"
_FORGET_LOADED = "DELETE FROM loaded_batches WHERE loaded < ?"
_STAGING = "_footfall_hits_in"
_STAGING_DDL = (
    f"CREATE TEMP TABLE IF NOT EXISTS {_STAGING} ("
    + ", ".join(
        f"{c.name} BIGINT" if c.kind == "timestamp" else column_ddl(c) for c in EVENT_COLUMNS
    )
    + ")"
)
_FROM_STAGING = (
    f"INSERT INTO events ({', '.join(c.name for c in EVENT_COLUMNS)}, fold_seq) SELECT "  # noqa: S608
    + ", ".join(
        f"make_timestamp_ms({c.name})" if c.kind == "timestamp" else c.name for c in EVENT_COLUMNS
    )
    + f", ? FROM {_STAGING}"
)
_APPEND_SLICE = 512  # rows per appender call: each holds the interpreter lock ~4 ms


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC).replace(tzinfo=None)


class DuckDBStore(DuckDBAccounts, DuckDBAccess, DuckDBGoals):
    backend = "duckdb"
    dialect = "duckdb"

    def __init__(
        self,
        location: str,
        *,
        read_only: bool = False,
        threads: int | None = None,
        memory_limit: str | None = None,
        resting_memory: str | None = None,
        temp_directory: str | None = None,
    ) -> None:
        """``memory_limit``: the most DuckDB may use (default: DuckDB's own, 80 % of RAM);
        ``resting_memory``: the limit it runs within until a statement needs more
        (footfall.store.duckdb_memory); ``temp_directory``: where statements spill
        (default: :func:`temp_directory_for` the file)."""
        self.path = location.removeprefix("duckdb://")
        self.temp_directory = temp_directory or temp_directory_for(self.path)
        try:
            os.makedirs(self.temp_directory, mode=0o700, exist_ok=True)
        except OSError as exc:
            if not read_only:
                raise StoreError(
                    f"cannot create DuckDB's temporary directory {self.temp_directory}:"
                    f" {exc.strerror}; make it writable for this user or choose another"
                    " with --db-temp"
                ) from None
        config: dict[str, Any] = {"temp_directory": self.temp_directory}
        if threads:
            config["threads"] = threads
        if memory_limit:
            config["memory_limit"] = memory_limit
        self._read_only = read_only
        self._config = config
        self._resting, self._most = resting_memory or "", memory_limit or ""
        self._con, self.memory = self._connect()
        self._local = threading.local()
        self._threads = int(self._con.execute("SELECT current_setting('threads')").fetchall()[0][0])
        self.generation = 0  # counts write() calls
        self._write_lock = threading.Lock()  # one write transaction at a time ...
        # ... except appends of hits, which touch nothing else: a rollup fold or compaction in
        # progress does not hold up the buffer's flushes (their rows would pile up in memory)
        self._append_lock = threading.Lock()
        if not read_only:
            self._create_tables()

    def _connect(self) -> tuple[duckdb.DuckDBPyConnection, MemoryBudget]:
        return connect(self.path, self._read_only, self._config, self._resting, self._most)

    def reopen(self) -> None:
        """Connect to the file again: after a failed write DuckDB may refuse every statement
        ("database has been invalidated") until the database is attached anew. Waits for the
        write under way; reads under way on the old connection fail. StoreError while the file
        cannot be opened."""
        with self._write_lock, self._append_lock:
            try:
                self._con.close()
            except duckdb.Error:
                pass
            self._con, self.memory = self._connect()
            self._local = threading.local()
            self.generation += 1

    # -- plumbing ---------------------------------------------------------------------------
    def _cursor(self) -> duckdb.DuckDBPyConnection:
        """One cursor per thread: a DuckDB connection object is not safe to share between threads."""
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._con.cursor()
            cur.execute(f"USE {DATABASE}")  # a cursor starts in DuckDB's in-memory database
            self._local.cursor = cur
        return cur

    def _create_tables(self) -> None:
        cur = self._cursor()
        cols = ",\n  ".join(column_ddl(c) for c in EVENT_COLUMNS)
        # fold_seq is the store's own: which numbered write a hit came with (the rollup feed)
        cur.execute(f"CREATE TABLE IF NOT EXISTS events (\n  {cols},\n  fold_seq BIGINT\n)")
        cur.execute(
            "CREATE TABLE IF NOT EXISTS apps ("
            " id VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, url VARCHAR NOT NULL,"
            " created BIGINT NOT NULL, settings VARCHAR NOT NULL)"
        )
        self._create_account_tables(cur)
        self._create_access_tables(cur)  # invitations, recovery codes
        self._create_goal_tables(cur)  # files from before goals get them here
        cur.execute(
            "CREATE TABLE IF NOT EXISTS salts ("
            " day INTEGER PRIMARY KEY, salt BLOB NOT NULL, created BIGINT NOT NULL)"
        )
        cur.execute(_LOADED_DDL)

    def ping(self) -> bool:
        try:
            return self._cursor().execute("SELECT 1").fetchall() == [(1,)]
        except duckdb.Error:
            return False

    def close(self) -> None:
        try:
            self._con.execute("CHECKPOINT")
        except duckdb.Error:
            pass
        self._con.close()

    def settle(self) -> None:
        """A checkpoint: rows appended since the last one are held in memory uncompressed (~550
        bytes a hit) until then, and DuckDB's own trigger (``checkpoint_threshold`` of log
        written) cannot run while a rollup fold's transaction is open, so under load they piled up
        to ~100 MB. The rollup feed calls this after each fold (tens of ms). It waits for an
        append under way (a checkpoint fails while another write transaction is open: under
        load there nearly always was one), holding the buffer's next write back meanwhile.
        Then DuckDB's memory limit goes back to rest if nothing raised it is still running
        (footfall.store.duckdb_memory; upkeep runs call this too)."""
        try:
            with self._write_lock, self._append_lock:
                self._cursor().execute("CHECKPOINT")
        except duckdb.Error as exc:  # e.g. another transaction is open: the next one will do
            log.debug("checkpoint skipped: %s", exc)
        self.memory.rest()

    def backup(self, dest: str) -> BackupInfo:
        """Copy the file to the new file ``dest``: a checkpoint, then a byte copy, with every
        write waiting meanwhile (both locks, in ``settle``'s order; reads go on). Measured, and
        why not ``COPY FROM DATABASE``: footfall.store.duckdb_backup. The copy is mode 0600,
        written by this process's user; its counts are read back from it."""
        if self.path in ("", ":memory:"):
            raise StoreError("a database in memory has no file to back up")
        duckdb_backup.check_destination(dest, self.path)
        with duckdb_backup.new_file(dest) as fd:
            started = time.perf_counter()
            with self._write_lock, self._append_lock:
                try:
                    self._cursor().execute("CHECKPOINT")
                except duckdb.Error as exc:
                    raise StoreError(f"cannot back up {self.path}: {exc}") from None
                duckdb_backup.require_no_log(self.path)
                duckdb_backup.copy_file(self.path, fd)
            paused = time.perf_counter() - started
        return replace(duckdb_backup.inspect(dest), paused_s=round(paused, 3))

    # -- events -----------------------------------------------------------------------------
    def append_hits(
        self,
        rows: Sequence[tuple[object, ...]],
        *,
        fold_seq: int | None = None,
        batch: str | None = None,
    ) -> int:
        """Append hit tuples (``msgspec.structs.astuple(hit)``: EVENT_COLUMNS order) in one
        transaction, through DuckDB's appender: no Arrow in the server. ``batch`` is recorded
        in ``loaded_batches`` in that transaction (a batch name stored twice fails the whole
        append). Per 5,000 hits, measured:
        ~42 ms appending (the interpreter lock held), ~12 ms flushing, ~30 ms inserting, against
        18–36 ms building Arrow columns plus ~35 ms inserting them (docs/benchmarks.md)."""
        if not rows:
            return 0
        cur = self._cursor()

        def append() -> int:
            cur.execute(_STAGING_DDL)  # per connection, and a write() drops temporary tables
            cur.execute("BEGIN TRANSACTION")
            try:
                appender = cur.appender(_STAGING)
                for start in range(0, len(rows), _APPEND_SLICE):
                    appender.append_rows(rows[start : start + _APPEND_SLICE])
                appender.flush()
                cur.execute(_FROM_STAGING, [fold_seq])
                cur.execute(f"DELETE FROM {_STAGING}")  # noqa: S608
                if batch is not None:
                    cur.execute(_LOADED, [batch, len(rows), _utc(time.time_ns() // 1_000_000)])
                cur.execute("COMMIT")
            except BaseException:
                rollback(cur)
                raise
            return len(rows)

        with self._append_lock:
            return self.memory.run(append)

    def insert_events(self, batch: pa.Table, *, fold_seq: int | None = None) -> int:
        if batch.num_rows == 0:
            return 0
        names = ", ".join(batch.column_names)  # names come from EVENT_COLUMNS, never from requests
        with self._append_lock:
            cur = self._cursor()
            cur.register("_footfall_batch", batch)
            try:
                cur.execute(
                    f"INSERT INTO events ({names}, fold_seq) SELECT {names}, ? FROM _footfall_batch",  # noqa: S608
                    [fold_seq],
                )
            finally:
                cur.unregister("_footfall_batch")
        return batch.num_rows

    def loaded_batches(self, names: Sequence[str]) -> set[str]:
        if not names:
            return set()
        rows = self._cursor().execute(_FIND_LOADED, [list(names)]).fetchall()
        return {name for (name,) in rows}

    def forget_loaded_batches(self, age_ms: int) -> int:
        with self._write_lock:
            cur = self._cursor()
            cur.execute(_FORGET_LOADED, [_utc(time.time_ns() // 1_000_000 - age_ms)])
            row = first_row(cur.fetchall())
            return int(row[0]) if row else 0

    def count_events(self, app_id: str | None = None) -> int:
        """(A read like ``fetch``: more memory if it needs it, StoreOutOfMemory if that fails.)"""
        if app_id is None:
            row = first_row(self.fetch("SELECT count(*) FROM events"))
        else:
            row = first_row(self.fetch("SELECT count(*) FROM events WHERE app_id = ?", [app_id]))
        return int(row[0]) if row else 0

    def delete_events(self, app_id: str, before_ms: int | None = None) -> int:
        with self._write_lock:
            cur = self._cursor()
            if before_ms is None:
                row = cur.execute(
                    "DELETE FROM events WHERE app_id = ? RETURNING 1", [app_id]
                ).fetchall()
            else:
                row = cur.execute(
                    "DELETE FROM events WHERE app_id = ? AND ts < make_timestamp(? * 1000) RETURNING 1",
                    [app_id, before_ms],
                ).fetchall()
        return len(row)

    def existing_hit_ids(
        self, app_id: str, hit_ids: Sequence[str], since_ms: int, until_ms: int
    ) -> set[str]:
        if not hit_ids:
            return set()
        import pyarrow as pa  # imports only: the server never loads Arrow

        ids = pa.table({"hit_id": pa.array(list(hit_ids), type=pa.string())})
        cur = self._cursor()
        cur.register("_footfall_ids", ids)
        try:
            rows = cur.execute(
                "SELECT e.hit_id FROM events e SEMI JOIN _footfall_ids i ON e.hit_id = i.hit_id"
                " WHERE e.app_id = ? AND e.ts BETWEEN make_timestamp(? * 1000)"
                " AND make_timestamp(? * 1000)",
                [app_id, since_ms, until_ms],
            ).fetchall()
        finally:
            cur.unregister("_footfall_ids")
        return {r[0] for r in rows}

    # -- derived tables (footfall.store.rollups) -----------------------------------------------
    def write(
        self,
        steps: Sequence[Step],
        tables: dict[str, pa.Table] | None = None,
        *,
        threads: int | None = None,
    ) -> list[list[tuple[Any, ...]]]:
        """Run statements in one transaction under the write lock, with Arrow tables visible by
        name; returns each statement's rows. SQL comes from footfall.query, values are bound.

        ``threads``: run them on at most that many of DuckDB's threads (the setting is
        database-wide, so queries running meanwhile get as many; it is put back afterwards)."""
        with self._write_lock:
            return self.memory.run(lambda: self._transaction(steps, tables, threads))

    def _transaction(
        self,
        steps: Sequence[Step],
        tables: dict[str, pa.Table] | None,
        threads: int | None,
    ) -> list[list[tuple[Any, ...]]]:
        self.generation += 1  # readers caching derived-table state re-read after a write
        cur = self._cursor()
        for name, table in (tables or {}).items():
            cur.register(name, table)
        out: list[list[tuple[Any, ...]]] = []
        limit = threads if threads is not None and threads < self._threads else None
        try:
            if limit is not None:
                cur.execute(f"SET threads = {int(limit)}")  # an int from our code
            cur.execute("BEGIN TRANSACTION")
            try:
                for sql, params in steps:
                    cur.execute(sql, params if isinstance(params, Mapping) else list(params))
                    out.append(cur.fetchall() if cur.description else [])
                cur.execute("COMMIT")
            except BaseException:
                rollback(cur)
                raise
        finally:
            if limit is not None:
                cur.execute(f"SET threads = {self._threads}")
            for name in tables or {}:
                cur.unregister(name)
            self._drop_temp_tables(cur)
        return out

    @staticmethod
    def _drop_temp_tables(cur: duckdb.DuckDBPyConnection) -> None:
        """Temporary tables of a write live only for that write: kept, they hold the last rollup
        fold's sessions and hits in memory (~15 MB at 50,000 one-hit sessions)."""
        names = cur.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()
        for (name,) in names:
            quoted = '"' + name.replace('"', '""') + '"'  # a name from the catalog, not a request
            cur.execute(f"DROP TABLE IF EXISTS temp.main.{quoted}")

    # -- salts ------------------------------------------------------------------------------
    def load_salts(self, since_day: int) -> dict[int, bytes]:
        rows = (
            self._cursor()
            .execute("SELECT day, salt FROM salts WHERE day >= ?", [since_day])
            .fetchall()
        )
        return {int(day): bytes(salt) for day, salt in rows}

    def save_salt(self, day: int, salt: bytes, created: int) -> None:
        with self._write_lock:
            self._cursor().execute(
                "INSERT INTO salts (day, salt, created) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                [day, salt, created],
            )

    def delete_salts(self, before_day: int) -> int:
        with self._write_lock:
            gone = (
                self._cursor()
                .execute("DELETE FROM salts WHERE day < ? RETURNING day", [before_day])
                .fetchall()
            )
        return len(gone)

    # -- reads ------------------------------------------------------------------------------
    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """A read within the resting memory limit (run again with more if it does not fit)."""
        try:  # a new thread's cursor allocates too
            return self.memory.run(lambda: self._cursor().execute(sql, list(params)).fetchall())
        except duckdb.OutOfMemoryException:
            raise self._out_of_memory() from None

    def answer(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """A read someone waits for, with the memory limit raised while it runs: within the
        resting limit the dashboard's reads over millions of hits took 1.5–3× as long
        (docs/benchmarks.md)."""
        try:
            with self.memory.raised():
                return self._cursor().execute(sql, list(params)).fetchall()
        except duckdb.OutOfMemoryException:
            raise self._out_of_memory() from None

    def fetch_arrow(self, sql: str, params: Sequence[Any] = ()) -> pa.Table:
        """A read as an Arrow table (exports), with the memory limit raised like ``answer``."""
        try:
            with self.memory.raised():
                table: pa.Table = self._cursor().sql(sql, params=list(params)).to_arrow_table()
        except duckdb.OutOfMemoryException:
            raise self._out_of_memory() from None
        return table

    def _out_of_memory(self) -> StoreOutOfMemory:
        return StoreOutOfMemory(
            f"not enough memory to answer: DuckDB may use {self.memory.most} here (--db-memory);"
            " ask for a shorter period or less detail, or raise the limit"
        )
