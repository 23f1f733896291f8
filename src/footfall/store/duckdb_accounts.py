"""Apps, users, dashboard login sessions and API keys in the DuckDB file: the accounts half of
:class:`footfall.store.duckdb.DuckDBStore` (the other half: events, derived tables, salts), kept
apart so each module reads in one sitting."""

from __future__ import annotations

import threading
from typing import Any

import duckdb
import msgspec

from footfall.model import ApiKey, App, LoginSession, User
from footfall.store.base import StoreError

_APP_FIELDS = {"id", "name", "url", "created"}  # columns of their own; the rest is `settings`
_ADDED_COLUMNS = (  # (table, column DDL) added after the table's first release
    ("users", "totp_secret VARCHAR"),
    ("users", "totp_step BIGINT DEFAULT 0"),
    ("login_sessions", "pending BOOLEAN DEFAULT false"),
)
_SESSION_COLUMNS = "key, user_id, csrf, created, expires, pending"


def first_row(rows: list[tuple[Any, ...]]) -> tuple[Any, ...] | None:
    """The first row (reads are fetched whole: DuckDB refuses new work while a result is open)."""
    return rows[0] if rows else None


def rollback(cur: duckdb.DuckDBPyConnection) -> None:
    """End a failed transaction. An error that invalidates the database (a write the disk
    refused) has ended it already; the error being raised is the one worth reporting."""
    try:
        cur.execute("ROLLBACK")
    except duckdb.Error:
        pass


_KEY_COLUMNS = "SELECT id, app_id, name, created, revoked"
_LIST_KEYS = (
    _KEY_COLUMNS + ", sites FROM api_keys ORDER BY created",
    _KEY_COLUMNS + " FROM api_keys ORDER BY created",
)
_FIND_KEY = (
    _KEY_COLUMNS + ", sites FROM api_keys WHERE hash = ? AND revoked IS NULL",
    _KEY_COLUMNS + " FROM api_keys WHERE hash = ? AND revoked IS NULL",
)


class DuckDBAccounts:
    """Mixed into DuckDBStore, which provides the cursor, the write lock and the generation."""

    _write_lock: threading.Lock
    generation: int

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        raise NotImplementedError

    @staticmethod
    def _create_account_tables(cur: duckdb.DuckDBPyConnection) -> None:
        cur.execute(
            "CREATE TABLE IF NOT EXISTS users ("
            " id VARCHAR PRIMARY KEY, email VARCHAR NOT NULL UNIQUE, password_hash VARCHAR NOT NULL,"
            " role VARCHAR NOT NULL, apps VARCHAR NOT NULL, created BIGINT NOT NULL,"
            " totp_secret VARCHAR, totp_step BIGINT DEFAULT 0)"
        )
        cur.execute(
            "CREATE TABLE IF NOT EXISTS login_sessions ("
            " key VARCHAR PRIMARY KEY, user_id VARCHAR NOT NULL, csrf VARCHAR NOT NULL,"
            " created BIGINT NOT NULL, expires BIGINT NOT NULL, pending BOOLEAN DEFAULT false)"
        )
        # files from before two-factor login get its columns here (existing rows: off, not pending)
        for table, column in _ADDED_COLUMNS:
            cur.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column}")
        cur.execute(
            "CREATE TABLE IF NOT EXISTS api_keys (id VARCHAR PRIMARY KEY, hash VARCHAR NOT NULL,"
            " app_id VARCHAR, name VARCHAR NOT NULL, created BIGINT NOT NULL, revoked BIGINT)"
        )
        # keys of files made before the Sites API may not manage sites
        cur.execute("ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS sites BOOLEAN DEFAULT false")

    _USER_COLUMNS = "id, email, password_hash, role, apps, created, totp_secret, totp_step"

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
            try:
                self._cursor().execute(
                    "INSERT INTO apps (id, name, url, created, settings) VALUES (?, ?, ?, ?, ?)",
                    [app.id, app.name, app.url, app.created, self._settings_json(app)],
                )
            except duckdb.ConstraintException:
                raise StoreError(f"an app with the id {app.id!r} exists already") from None

    def save_app(self, app: App) -> None:
        with self._write_lock:
            self._cursor().execute(
                "UPDATE apps SET name = ?, url = ?, settings = ? WHERE id = ?",
                [app.name, app.url, self._settings_json(app), app.id],
            )

    def get_app(self, app_id: str) -> App | None:
        row = first_row(
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
        """Delete an app and everything stored for it, in one transaction: every row of a table
        with an ``app_id`` column (events, rollups and their bookkeeping, API keys)."""
        with self._write_lock:
            self.generation += 1
            cur = self._cursor()
            tables = cur.execute(
                "SELECT DISTINCT table_name FROM duckdb_columns() WHERE column_name = 'app_id'"
                " AND database_name = current_database() AND schema_name = 'main' ORDER BY 1"
            ).fetchall()
            cur.execute("BEGIN TRANSACTION")
            try:
                gone = cur.execute(
                    "DELETE FROM apps WHERE id = ? RETURNING id", [app_id]
                ).fetchall()
                for (table,) in tables if gone else []:
                    quoted = '"' + table.replace('"', '""') + '"'  # a name from the catalog
                    cur.execute(f"DELETE FROM main.{quoted} WHERE app_id = ?", [app_id])  # noqa: S608
                cur.execute("COMMIT")
            except BaseException:
                rollback(cur)
                raise
        return bool(gone)

    # -- users ----------------------------------------------------------------------------
    @staticmethod
    def _user_from_row(row: tuple[Any, ...]) -> User:
        return User(
            id=row[0],
            email=row[1],
            password_hash=row[2],
            role=row[3],
            apps=msgspec.json.decode(row[4]),
            created=row[5],
            totp_secret=row[6],
            totp_step=row[7] or 0,
        )

    def create_user(self, user: User) -> None:
        with self._write_lock:
            try:
                self._cursor().execute(
                    f"INSERT INTO users ({self._USER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
                    [
                        user.id,
                        user.email,
                        user.password_hash,
                        user.role,
                        msgspec.json.encode(user.apps).decode(),
                        user.created,
                        user.totp_secret,
                        user.totp_step,
                    ],
                )
            except duckdb.ConstraintException:
                raise StoreError(f"a user with the email {user.email!r} exists already") from None

    def save_user(self, user: User) -> None:
        with self._write_lock:
            self._cursor().execute(
                "UPDATE users SET email = ?, password_hash = ?, role = ?, apps = ?,"
                " totp_secret = ?, totp_step = ? WHERE id = ?",
                [
                    user.email,
                    user.password_hash,
                    user.role,
                    msgspec.json.encode(user.apps).decode(),
                    user.totp_secret,
                    user.totp_step,
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
            cur.execute("BEGIN TRANSACTION")
            try:
                gone = cur.execute(
                    "DELETE FROM users WHERE id = ? RETURNING id", [user_id]
                ).fetchall()
                cur.execute("DELETE FROM login_sessions WHERE user_id = ?", [user_id])
                cur.execute("DELETE FROM recovery_codes WHERE user_id = ?", [user_id])
                cur.execute("COMMIT")
            except BaseException:
                rollback(cur)
                raise
        return bool(gone)

    def create_login_session(self, session: LoginSession) -> None:
        with self._write_lock:
            self._cursor().execute(
                f"INSERT INTO login_sessions ({_SESSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",  # noqa: S608
                [
                    session.key,
                    session.user_id,
                    session.csrf,
                    session.created,
                    session.expires,
                    session.pending,
                ],
            )

    def get_login_session(self, key: str) -> LoginSession | None:
        row = (
            self._cursor()
            .execute(f"SELECT {_SESSION_COLUMNS} FROM login_sessions WHERE key = ?", [key])  # noqa: S608
            .fetchone()
        )
        if row is None:
            return None
        return LoginSession(
            key=row[0],
            user_id=row[1],
            csrf=row[2],
            created=row[3],
            expires=row[4],
            pending=bool(row[5]),
        )

    def end_login_sessions(self, user_id: str, keep: str | None = None) -> int:
        with self._write_lock:
            gone = (
                self._cursor()
                .execute(
                    "DELETE FROM login_sessions WHERE user_id = ? AND key IS DISTINCT FROM ?"
                    " RETURNING 1",
                    [user_id, keep],
                )
                .fetchall()
            )
        return len(gone)

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
                "INSERT INTO api_keys (id, hash, app_id, name, created, revoked, sites)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [key.id, key_hash, key.app_id, key.name, key.created, key.revoked, key.sites],
            )

    def _keys(self, sql: tuple[str, str], params: list[object]) -> list[ApiKey]:
        """``sql``: the statement, and its twin for a file from before the Sites API (read-only:
        not upgraded), whose keys may not manage sites."""
        try:
            rows = self._cursor().execute(sql[0], params).fetchall()
        except duckdb.BinderException:
            rows = [(*r, False) for r in self._cursor().execute(sql[1], params).fetchall()]
        return [
            ApiKey(id=r[0], app_id=r[1], name=r[2], created=r[3], revoked=r[4], sites=bool(r[5]))
            for r in rows
        ]

    def list_api_keys(self) -> list[ApiKey]:
        return self._keys(_LIST_KEYS, [])

    def find_api_key(self, key_hash: str) -> ApiKey | None:
        found = self._keys(_FIND_KEY, [key_hash])
        return found[0] if found else None

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
