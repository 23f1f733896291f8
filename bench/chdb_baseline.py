"""The ClickHouse baseline of bench/query.py: the same hits in chDB (embedded ClickHouse, the
``chdb`` package of the ``bench`` extra), in two tables of one session:

- ``events_raw``: footfall's columns as a ClickHouse user would store them: text ids as String,
  low-cardinality text as LowCardinality(String), '' for a missing value, MergeTree ordered by
  (app_id, toDate(ts), ts);
- ``events_flat``: the layout proposed for issue 24 (bench/layout.py), the same columns as the
  DuckDB prototype.
"""

from __future__ import annotations

import json
import shutil
from typing import Any

import pyarrow as pa

from footfall.schema import EVENT_COLUMNS

LOW_CARDINALITY = {
    "app_id", "event", "channel", "identity", "hostname", "platform", "language", "screen",
    "user_agent", "browser", "browser_version", "os", "os_version", "device", "bot", "country",
    "region", "city", "referrer_host", "source", "medium", "utm_source", "utm_medium",
    "utm_campaign",
}  # fmt: skip


def _raw_type(name: str, kind: str) -> str:
    if kind == "timestamp":
        return "DateTime64(3, 'UTC')"
    if kind == "float":
        return "Float64"
    if kind == "int":
        return "Int32"
    if kind == "props":
        return "Map(String, String)"
    return "LowCardinality(String)" if name in LOW_CARDINALITY else "String"


RAW_DDL = (
    "CREATE TABLE events_raw (\n  "
    + ",\n  ".join(f"{c.name} {_raw_type(c.name, c.kind)}" for c in EVENT_COLUMNS)
    + "\n) ENGINE = MergeTree ORDER BY (app_id, toDate(ts), ts)"
)


def _raw_value(name: str, kind: str) -> str:
    if kind == "text":
        return f"ifNull({name}, '')"
    if kind in ("float", "int"):
        return f"ifNull({name}, 0)"
    if kind == "props":
        return f"ifNull({name}, map())"
    return name


_INSERT_RAW = (
    "INSERT INTO events_raw SELECT "
    + ", ".join(_raw_value(c.name, c.kind) for c in EVENT_COLUMNS)
    + " FROM Python(part)"
)


class ChDB:
    """One chDB session on a directory of its own (removed first)."""

    def __init__(self, path: str) -> None:
        from chdb import session

        shutil.rmtree(path, ignore_errors=True)
        self.path = path
        self.s = session.Session(path)

    def execute(self, sql: str) -> None:
        self.s.query(sql)

    def create(self, flat_ddl: str) -> None:
        self.execute(RAW_DDL)
        self.execute(flat_ddl)

    def insert_raw(self, part: pa.Table) -> None:
        self._insert(_INSERT_RAW, part)

    def insert_flat(self, part: pa.Table, names: list[str]) -> None:
        cols = ", ".join(
            "ifNull(props, map())" if n == "props" else n for n in names
        )  # the arrow map column may hold NULLs
        self._insert(f"INSERT INTO events_flat SELECT {cols} FROM Python(part)", part)

    def _insert(self, sql: str, part: pa.Table) -> None:
        # chDB's Python() table function finds ``part`` among this frame's variables
        self.s.query(sql)

    def finish(self) -> None:
        """Merge each table's parts (what a settled MergeTree looks like)."""
        for table in ("events_raw", "events_flat"):
            self.execute(f"OPTIMIZE TABLE {table} FINAL")

    def answer(self, sql: str) -> list[tuple[Any, ...]]:
        """Rows as tuples; JSON keeps Enum8 and FixedString values text (Arrow gives numbers and
        bytes), 64-bit integers come quoted."""
        result = self.s.query(sql, "JSONCompact")
        return [tuple(row) for row in json.loads(result.bytes())["data"]]

    def bytes_on_disk(self, table: str) -> tuple[int, int]:
        """(bytes on disk, uncompressed bytes) of the table's active parts."""
        rows = self.answer(
            "SELECT sum(bytes_on_disk), sum(data_uncompressed_bytes) FROM system.parts"
            f" WHERE active AND table = '{table}'"
        )
        return int(rows[0][0] or 0), int(rows[0][1] or 0)

    def column_bytes(self, table: str) -> list[tuple[str, int]]:
        return [
            (str(name), int(size))
            for name, size in self.answer(
                "SELECT column, sum(column_data_compressed_bytes) FROM system.parts_columns"
                f" WHERE active AND table = '{table}' GROUP BY column ORDER BY 2 DESC"
            )
        ]

    def close(self) -> None:
        self.s.close()
