"""The event layout proposed for issue 24, prototyped on plain DuckDB (and on chDB, same columns).

One table of hits in which:
- the session's attributes (source, referrer, UTMs, browser, OS, device, country, …) are written on
  every hit of the session, fixed at its first hit, so a visit filter or a visit breakdown is a
  predicate or a GROUP BY on the hit's own column: no join, no grouping by session;
- visitor, session and hit ids are 64-bit keyed hashes (UBIGINT / UInt64), not text;
- closed sets are ENUMs (channel, identity, device), other low-cardinality text is VARCHAR, which
  DuckDB dictionary-compresses by itself (LowCardinality(String) on ClickHouse);
- a missing value is '' (NOT NULL), never NULL, so no filter needs coalesce/nullif around a column;
- rows are clustered by (app, time): inserted in that order on DuckDB, ORDER BY on ClickHouse.

``flatten`` builds these rows from hits in footfall's ARROW_SCHEMA. The prototype finds each
session's first hit with a window over the whole data set; the server's writer, which assigns
sessions, would copy them from the session it already holds (footfall._sessiontable).
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

KEY = "bench-key:"  # the prototype's hash key; the server would use a secret of its own

CHANNELS = ["pixel", "api", "js", "mp", "gtag", "server", "matomo", "import", "log"]
IDENTITIES = ["cookie", "cookieless", "first-party", "client-id", "none"]
DEVICES = ["", "desktop", "mobile", "tablet", "tv", "bot", "other"]

# (column, DuckDB type, ClickHouse type); * marks a session attribute, fixed at the first hit
COLUMNS: list[tuple[str, str, str]] = [
    ("app_id", "UUID NOT NULL", "UUID"),
    ("ts", "TIMESTAMP NOT NULL", "DateTime64(3, 'UTC')"),
    ("hit_id", "UBIGINT NOT NULL", "UInt64"),
    ("visitor_id", "UBIGINT NOT NULL", "UInt64"),
    ("session_id", "UBIGINT NOT NULL", "UInt64"),
    ("event", "VARCHAR NOT NULL", "LowCardinality(String)"),
    (
        "channel",
        "channel_t NOT NULL",
        "Enum8(" + ", ".join(f"'{v}' = {i + 1}" for i, v in enumerate(CHANNELS)) + ")",
    ),
    (
        "identity",
        "identity_t NOT NULL",
        "Enum8(" + ", ".join(f"'{v}' = {i + 1}" for i, v in enumerate(IDENTITIES)) + ")",
    ),
    ("hostname", "VARCHAR NOT NULL", "LowCardinality(String)"),
    ("path", "VARCHAR NOT NULL", "String"),
    ("url", "VARCHAR NOT NULL", "String"),
    ("title", "VARCHAR NOT NULL", "String"),
    ("status", "USMALLINT NOT NULL", "UInt16"),  # 0: none
    ("props", "MAP(VARCHAR, VARCHAR)", "Map(LowCardinality(String), String)"),
    ("bot", "VARCHAR NOT NULL", "LowCardinality(String)"),
    ("user_agent", "VARCHAR NOT NULL", "LowCardinality(String)"),
    ("ip", "VARCHAR NOT NULL", "String"),
    ("platform", "VARCHAR NOT NULL", "LowCardinality(String)"),
    ("*referrer", "VARCHAR NOT NULL", "String"),
    ("*referrer_host", "VARCHAR NOT NULL", "LowCardinality(String)"),
    ("*source", "VARCHAR NOT NULL", "LowCardinality(String)"),
    ("*medium", "VARCHAR NOT NULL", "LowCardinality(String)"),
    ("*utm_source", "VARCHAR NOT NULL", "LowCardinality(String)"),
    ("*utm_medium", "VARCHAR NOT NULL", "LowCardinality(String)"),
    ("*utm_campaign", "VARCHAR NOT NULL", "LowCardinality(String)"),
    ("*utm_term", "VARCHAR NOT NULL", "String"),
    ("*utm_content", "VARCHAR NOT NULL", "String"),
    ("*browser", "VARCHAR NOT NULL", "LowCardinality(String)"),
    ("*browser_version", "VARCHAR NOT NULL", "LowCardinality(String)"),
    ("*os", "VARCHAR NOT NULL", "LowCardinality(String)"),
    ("*os_version", "VARCHAR NOT NULL", "LowCardinality(String)"),
    (
        "*device",
        "device_t NOT NULL",
        "Enum8(" + ", ".join(f"'{v}' = {i + 1}" for i, v in enumerate(DEVICES)) + ")",
    ),
    ("*country", "VARCHAR NOT NULL", "LowCardinality(FixedString(2))"),
    ("*region", "VARCHAR NOT NULL", "LowCardinality(String)"),
    ("*city", "VARCHAR NOT NULL", "LowCardinality(String)"),
    ("*language", "VARCHAR NOT NULL", "LowCardinality(String)"),
    ("*screen", "VARCHAR NOT NULL", "LowCardinality(String)"),
    ("*pixel_ratio", "REAL NOT NULL", "Float32"),  # 0: none
]
NAMES = [c.lstrip("*") for c, _, _ in COLUMNS]
SESSION_ATTRS = [c[1:] for c, _, _ in COLUMNS if c.startswith("*")]


def _enum(values: list[str]) -> str:
    return "ENUM (" + ", ".join(f"'{v}'" for v in values) + ")"


DUCKDB_DDL = [
    f"CREATE TYPE channel_t AS {_enum(CHANNELS)}",
    f"CREATE TYPE identity_t AS {_enum(IDENTITIES)}",
    f"CREATE TYPE device_t AS {_enum(DEVICES)}",
    "CREATE TABLE events (\n  "
    + ",\n  ".join(f"{n} {ddb}" for n, (_, ddb, _) in zip(NAMES, COLUMNS, strict=True))
    + "\n)",
]


def clickhouse_ddl(table: str = "events") -> str:
    cols = ",\n  ".join(f"{n} {ch}" for n, (_, _, ch) in zip(NAMES, COLUMNS, strict=True))
    return (
        f"CREATE TABLE {table} (\n  {cols}\n) ENGINE = MergeTree"
        " PARTITION BY toYYYYMM(ts) ORDER BY (app_id, ts)"
    )


def _hit_value(name: str) -> str:
    if name == "app_id":
        return "app_id"
    if name == "ts":
        return "ts"
    if name in ("hit_id", "visitor_id", "session_id"):
        return f"hash('{KEY}' || {name})"
    if name == "status":
        return "coalesce(status, 0)"
    if name == "props":
        return "props"
    return f"coalesce({name}, '')"


_EMPTY = {"pixel_ratio": "0"}
_FLATTEN = (
    "SELECT "
    + ", ".join(
        (
            f"first_value(coalesce({n}, {_EMPTY.get(n, repr(''))})) OVER s"
            if n in SESSION_ATTRS
            else _hit_value(n)
        )
        + f" AS {n}"
        for n in NAMES
    )
    + " FROM raw WINDOW s AS (PARTITION BY session_id ORDER BY ts, hit_id) ORDER BY ts"
)


def flatten(con: duckdb.DuckDBPyConnection, raw: pa.Table) -> pa.Table:
    """Hits in footfall's ARROW_SCHEMA (one app's) as rows of the layout, plain types
    (VARCHAR for the ENUMs and the UUID): what both engines' INSERT casts from."""
    con.register("raw", raw)
    try:
        return con.sql(_FLATTEN).to_arrow_table()
    finally:
        con.unregister("raw")


class FlatDuckDB:
    """The layout in a DuckDB file of its own."""

    def __init__(self, path: str) -> None:
        import os

        for p in (path, path + ".wal"):
            if os.path.exists(p):
                os.unlink(p)
        self.path = path
        self.con = duckdb.connect(path)
        for ddl in DUCKDB_DDL:
            self.con.execute(ddl)

    def insert(self, flat: pa.Table) -> None:
        self.con.register("flat", flat)
        self.con.execute("INSERT INTO events SELECT * FROM flat ORDER BY app_id, ts")
        self.con.unregister("flat")

    def finish(self) -> None:
        self.con.execute("CHECKPOINT")

    def answer(self, sql: str) -> list[tuple]:
        return self.con.execute(sql).fetchall()

    def close(self) -> None:
        self.con.close()
