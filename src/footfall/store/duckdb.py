"""The embedded default backend: one DuckDB file holds apps and events."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import duckdb
import msgspec
import pyarrow as pa

from footfall.model import ApiKey, App, LoginSession, User
from footfall.schema import EVENT_COLUMNS, Column
from footfall.store.base import StoreBusy, StoreError, StoreOutOfMemory

_SQL_TYPES = {
    "text": "VARCHAR",
    "timestamp": "TIMESTAMP",
    "float": "DOUBLE",
    "int": "INTEGER",
    "bool": "BOOLEAN",
    "props": "MAP(VARCHAR, VARCHAR)",
}

_APP_FIELDS = {"id", "name", "url", "created"}


def _first(rows: list[tuple[Any, ...]]) -> tuple[Any, ...] | None:
    """The first row (reads are fetched whole: DuckDB refuses new work while a result is open)."""
    return rows[0] if rows else None


def column_ddl(column: Column) -> str:
    return f"{column.name} {_SQL_TYPES[column.kind]}"


class DuckDBStore:
    backend = "duckdb"
    dialect = "duckdb"

    def __init__(
        self,
        location: str,
        *,
        read_only: bool = False,
        threads: int | None = None,
        memory_limit: str | None = None,
    ) -> None:
        self.path = location.removeprefix("duckdb://")
        config: dict[str, Any] = {}
        if threads:
            config["threads"] = threads
        if memory_limit:
            config["memory_limit"] = memory_limit
        try:
            self._con = duckdb.connect(self.path, read_only=read_only, config=config)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise StoreBusy(
                    f"{self.path} is in use by another footfall process (DuckDB allows one); "
                    "stop the server first, or use its HTTP API"
                ) from None
            raise StoreError(f"cannot open {self.path}: {exc}") from None
        except duckdb.Error as exc:  # e.g. a memory limit DuckDB cannot read
            raise StoreError(f"cannot open {self.path}: {exc}") from None
        self._local = threading.local()
        self.generation = 0  # counts write() calls
        self._write_lock = threading.Lock()
        if not read_only:
            self._migrate()

    # -- plumbing ---------------------------------------------------------------------------
    def _cursor(self) -> duckdb.DuckDBPyConnection:
        """One cursor per thread: a DuckDB connection object is not safe to share between threads."""
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._con.cursor()
            self._local.cursor = cur
        return cur

    def _migrate(self) -> None:
        cur = self._cursor()
        cols = ",\n  ".join(column_ddl(c) for c in EVENT_COLUMNS)
        cur.execute(f"CREATE TABLE IF NOT EXISTS events (\n  {cols}\n)")
        existing = {
            row[0]
            for row in cur.execute(
                "SELECT column_name FROM duckdb_columns() WHERE table_name = 'events'"
            ).fetchall()
        }
        for column in EVENT_COLUMNS:  # columns added by later versions
            if column.name not in existing:
                cur.execute(f"ALTER TABLE events ADD COLUMN {column_ddl(column)}")
        cur.execute(
            "CREATE TABLE IF NOT EXISTS apps ("
            " id VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, url VARCHAR NOT NULL,"
            " created BIGINT NOT NULL, settings VARCHAR NOT NULL)"
        )
        self._migrate_accounts(cur)
        cur.execute(
            "CREATE TABLE IF NOT EXISTS api_keys (id VARCHAR PRIMARY KEY, hash VARCHAR NOT NULL,"
            " app_id VARCHAR, name VARCHAR NOT NULL, created BIGINT NOT NULL, revoked BIGINT)"
        )
        cur.execute(
            "CREATE TABLE IF NOT EXISTS salts ("
            " day INTEGER PRIMARY KEY, salt BLOB NOT NULL, created BIGINT NOT NULL)"
        )

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

    # -- events -----------------------------------------------------------------------------
    def insert_events(self, batch: pa.Table) -> int:
        if batch.num_rows == 0:
            return 0
        names = ", ".join(batch.column_names)  # names come from EVENT_COLUMNS, never from requests
        with self._write_lock:
            cur = self._cursor()
            cur.register("_footfall_batch", batch)
            try:
                cur.execute(f"INSERT INTO events ({names}) SELECT {names} FROM _footfall_batch")  # noqa: S608
            finally:
                cur.unregister("_footfall_batch")
        return batch.num_rows

    def count_events(self, app_id: str | None = None) -> int:
        if app_id is None:
            row = _first(self._cursor().execute("SELECT count(*) FROM events").fetchall())
        else:
            row = _first(
                self._cursor()
                .execute("SELECT count(*) FROM events WHERE app_id = ?", [app_id])
                .fetchall()
            )
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

    # -- apps -------------------------------------------------------------------------------
    @staticmethod
    def _settings_json(app: App) -> str:
        data = msgspec.to_builtins(app)
        return msgspec.json.encode({k: v for k, v in data.items() if k not in _APP_FIELDS}).decode()

    @staticmethod
    def _app_from_row(row: tuple[Any, ...]) -> App:
        settings = msgspec.json.decode(row[4]) if row[4] else {}
        return msgspec.convert(
            {**settings, "id": row[0], "name": row[1], "url": row[2], "created": row[3]}, App
        )

    def create_app(self, app: App) -> None:
        with self._write_lock:
            self._cursor().execute(
                "INSERT INTO apps (id, name, url, created, settings) VALUES (?, ?, ?, ?, ?)",
                [app.id, app.name, app.url, app.created, self._settings_json(app)],
            )

    def save_app(self, app: App) -> None:
        with self._write_lock:
            self._cursor().execute(
                "UPDATE apps SET name = ?, url = ?, settings = ? WHERE id = ?",
                [app.name, app.url, self._settings_json(app), app.id],
            )

    def get_app(self, app_id: str) -> App | None:
        row = _first(
            self._cursor()
            .execute("SELECT id, name, url, created, settings FROM apps WHERE id = ?", [app_id])
            .fetchall()
        )
        return self._app_from_row(row) if row else None

    def list_apps(self) -> list[App]:
        rows = (
            self._cursor()
            .execute("SELECT id, name, url, created, settings FROM apps ORDER BY created, name")
            .fetchall()
        )
        return [self._app_from_row(r) for r in rows]

    def delete_app(self, app_id: str) -> bool:
        with self._write_lock:
            cur = self._cursor()
            gone = cur.execute("DELETE FROM apps WHERE id = ? RETURNING id", [app_id]).fetchall()
            if gone:
                cur.execute("DELETE FROM events WHERE app_id = ?", [app_id])
        return bool(gone)

    # -- dashboard accounts (issue 7): users and login sessions ------------------------------
    @staticmethod
    def _migrate_accounts(cur: duckdb.DuckDBPyConnection) -> None:
        cur.execute(
            "CREATE TABLE IF NOT EXISTS users ("
            " id VARCHAR PRIMARY KEY, email VARCHAR NOT NULL UNIQUE, password_hash VARCHAR NOT NULL,"
            " role VARCHAR NOT NULL, apps VARCHAR NOT NULL, created BIGINT NOT NULL)"
        )
        cur.execute(
            "CREATE TABLE IF NOT EXISTS login_sessions ("
            " key VARCHAR PRIMARY KEY, user_id VARCHAR NOT NULL, csrf VARCHAR NOT NULL,"
            " created BIGINT NOT NULL, expires BIGINT NOT NULL)"
        )

    _USER_COLUMNS = "id, email, password_hash, role, apps, created"

    @staticmethod
    def _user_from_row(row: tuple[Any, ...]) -> User:
        return User(
            id=row[0],
            email=row[1],
            password_hash=row[2],
            role=row[3],
            apps=msgspec.json.decode(row[4]),
            created=row[5],
        )

    def create_user(self, user: User) -> None:
        with self._write_lock:
            try:
                self._cursor().execute(
                    f"INSERT INTO users ({self._USER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",  # noqa: S608
                    [
                        user.id,
                        user.email,
                        user.password_hash,
                        user.role,
                        msgspec.json.encode(user.apps).decode(),
                        user.created,
                    ],
                )
            except duckdb.ConstraintException:
                raise StoreError(f"a user with the email {user.email!r} exists already") from None

    def save_user(self, user: User) -> None:
        with self._write_lock:
            self._cursor().execute(
                "UPDATE users SET email = ?, password_hash = ?, role = ?, apps = ? WHERE id = ?",
                [
                    user.email,
                    user.password_hash,
                    user.role,
                    msgspec.json.encode(user.apps).decode(),
                    user.id,
                ],
            )

    def get_user(self, user_id: str) -> User | None:
        row = (
            self._cursor()
            .execute(f"SELECT {self._USER_COLUMNS} FROM users WHERE id = ?", [user_id])  # noqa: S608
            .fetchone()
        )
        return self._user_from_row(row) if row else None

    def get_user_by_email(self, email: str) -> User | None:
        row = (
            self._cursor()
            .execute(f"SELECT {self._USER_COLUMNS} FROM users WHERE email = ?", [email])  # noqa: S608
            .fetchone()
        )
        return self._user_from_row(row) if row else None

    def list_users(self) -> list[User]:
        rows = (
            self._cursor()
            .execute(f"SELECT {self._USER_COLUMNS} FROM users ORDER BY created, email")  # noqa: S608
            .fetchall()
        )
        return [self._user_from_row(r) for r in rows]

    def delete_user(self, user_id: str) -> bool:
        with self._write_lock:
            cur = self._cursor()
            gone = cur.execute("DELETE FROM users WHERE id = ? RETURNING id", [user_id]).fetchall()
            cur.execute("DELETE FROM login_sessions WHERE user_id = ?", [user_id])
        return bool(gone)

    def create_login_session(self, session: LoginSession) -> None:
        with self._write_lock:
            self._cursor().execute(
                "INSERT INTO login_sessions (key, user_id, csrf, created, expires)"
                " VALUES (?, ?, ?, ?, ?)",
                [session.key, session.user_id, session.csrf, session.created, session.expires],
            )

    def get_login_session(self, key: str) -> LoginSession | None:
        row = (
            self._cursor()
            .execute(
                "SELECT key, user_id, csrf, created, expires FROM login_sessions WHERE key = ?",
                [key],
            )
            .fetchone()
        )
        if row is None:
            return None
        return LoginSession(key=row[0], user_id=row[1], csrf=row[2], created=row[3], expires=row[4])

    def delete_login_session(self, key: str) -> None:
        with self._write_lock:
            self._cursor().execute("DELETE FROM login_sessions WHERE key = ?", [key])

    def delete_expired_login_sessions(self, now_ms: int) -> int:
        with self._write_lock:
            gone = (
                self._cursor()
                .execute("DELETE FROM login_sessions WHERE expires <= ? RETURNING 1", [now_ms])
                .fetchall()
            )
        return len(gone)

    # -- API keys ---------------------------------------------------------------------------
    def create_api_key(self, key: ApiKey, key_hash: str) -> None:
        with self._write_lock:
            self._cursor().execute(
                "INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, ?)",
                [key.id, key_hash, key.app_id, key.name, key.created, key.revoked],
            )

    def list_api_keys(self) -> list[ApiKey]:
        rows = (
            self._cursor()
            .execute("SELECT id, app_id, name, created, revoked FROM api_keys ORDER BY created")
            .fetchall()
        )
        return [ApiKey(id=r[0], app_id=r[1], name=r[2], created=r[3], revoked=r[4]) for r in rows]

    def find_api_key(self, key_hash: str) -> ApiKey | None:
        row = _first(
            self._cursor()
            .execute(
                "SELECT id, app_id, name, created, revoked FROM api_keys"
                " WHERE hash = ? AND revoked IS NULL",
                [key_hash],
            )
            .fetchall()
        )
        return ApiKey(id=row[0], app_id=row[1], name=row[2], created=row[3]) if row else None

    def revoke_api_key(self, key_id: str, when_ms: int) -> bool:
        with self._write_lock:
            rows = (
                self._cursor()
                .execute(
                    "UPDATE api_keys SET revoked = ? WHERE id = ? AND revoked IS NULL RETURNING id",
                    [when_ms, key_id],
                )
                .fetchall()
            )
        return bool(rows)

    # -- derived tables (footfall.query.rollup) -----------------------------------------------
    def write(
        self,
        steps: Sequence[tuple[str, Sequence[Any]]],
        tables: dict[str, pa.Table] | None = None,
    ) -> list[list[tuple[Any, ...]]]:
        """Run statements in one transaction under the write lock, with Arrow tables visible by
        name; returns each statement's rows. SQL comes from footfall.query, values are bound."""
        with self._write_lock:
            self.generation += 1  # readers caching derived-table state re-read after any write
            cur = self._cursor()
            for name, table in (tables or {}).items():
                cur.register(name, table)
            out: list[list[tuple[Any, ...]]] = []
            try:
                cur.execute("BEGIN TRANSACTION")
                for sql, params in steps:
                    cur.execute(sql, list(params))
                    out.append(cur.fetchall() if cur.description else [])
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            finally:
                for name in tables or {}:
                    cur.unregister(name)
                self._drop_temp_tables(cur)
        return out

    @staticmethod
    def _drop_temp_tables(cur: duckdb.DuckDBPyConnection) -> None:
        """Temporary tables of a write live only for that write: kept, they hold the last rollup
        fold's working set in memory (~80 MB at 50,000 hits)."""
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
        try:
            return self._cursor().execute(sql, list(params)).fetchall()
        except duckdb.OutOfMemoryException:
            raise self._out_of_memory() from None

    def fetch_arrow(self, sql: str, params: Sequence[Any] = ()) -> pa.Table:
        """A read as an Arrow table (exports, rollup rebuilds)."""
        try:
            table: pa.Table = self._cursor().sql(sql, params=list(params)).to_arrow_table()
        except duckdb.OutOfMemoryException:
            raise self._out_of_memory() from None
        return table

    def _out_of_memory(self) -> StoreOutOfMemory:
        try:
            limit = self.fetch("SELECT current_setting('memory_limit')")[0][0]
        except duckdb.Error:
            limit = "its limit"
        return StoreOutOfMemory(
            f"not enough memory to answer: DuckDB may use {limit} here (--db-memory);"
            " ask for a shorter period or less detail, or raise the limit"
        )
