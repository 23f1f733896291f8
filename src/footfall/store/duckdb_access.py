"""Invitations and two-factor recovery codes in the DuckDB file: a mixin of
:class:`footfall.store.duckdb.DuckDBStore`.

Both keep hashes only: an invitation is found by the SHA-256 of its link's token, a recovery code
by the SHA-256 of the code. Taking an invitation and using a recovery code are single ``DELETE …
RETURNING`` statements, so two requests racing for the same one cannot both have it. The tables
are created with ``IF NOT EXISTS`` whenever a file is opened for writing, so a file made before
them gets them the first time a server or a command opens it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import duckdb
import msgspec

from footfall.model import Invite
from footfall.store.duckdb_accounts import rollback

INVITES_DDL = (
    "CREATE TABLE IF NOT EXISTS invites (id VARCHAR PRIMARY KEY, key VARCHAR NOT NULL UNIQUE,"
    " email VARCHAR NOT NULL, role VARCHAR NOT NULL, apps VARCHAR NOT NULL,"
    " created BIGINT NOT NULL, expires BIGINT NOT NULL, invited_by VARCHAR NOT NULL)"
)
RECOVERY_DDL = (
    "CREATE TABLE IF NOT EXISTS recovery_codes (user_id VARCHAR NOT NULL, hash VARCHAR NOT NULL,"
    " PRIMARY KEY (user_id, hash))"
)
_INVITE_COLUMNS = "id, key, email, role, apps, created, expires, invited_by"


def _invite(row: tuple[Any, ...]) -> Invite:
    return Invite(
        id=row[0],
        key=row[1],
        email=row[2],
        role=row[3],
        apps=msgspec.json.decode(row[4]),
        created=row[5],
        expires=row[6],
        invited_by=row[7],
    )


class DuckDBAccess:
    """Mixed into DuckDBStore, which provides the cursor and the write lock."""

    _write_lock: threading.Lock

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        raise NotImplementedError

    @staticmethod
    def _create_access_tables(cur: duckdb.DuckDBPyConnection) -> None:
        cur.execute(INVITES_DDL)
        cur.execute(RECOVERY_DDL)

    def _change(self, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
        with self._write_lock:
            return self._cursor().execute(sql, params).fetchall()

    # -- invitations ------------------------------------------------------------------------
    def create_invite(self, invite: Invite) -> None:
        """Store ``invite``; an earlier invitation of the same email is replaced (its link dies)."""
        with self._write_lock:
            cur = self._cursor()
            cur.execute("BEGIN TRANSACTION")
            try:
                cur.execute("DELETE FROM invites WHERE email = ?", [invite.email])
                cur.execute(
                    f"INSERT INTO invites ({_INVITE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
                    [
                        invite.id,
                        invite.key,
                        invite.email,
                        invite.role,
                        msgspec.json.encode(invite.apps).decode(),
                        invite.created,
                        invite.expires,
                        invite.invited_by,
                    ],
                )
                cur.execute("COMMIT")
            except BaseException:
                rollback(cur)
                raise

    def list_invites(self, now_ms: int) -> list[Invite]:
        rows = (
            self._cursor()
            .execute(
                f"SELECT {_INVITE_COLUMNS} FROM invites WHERE expires > ? ORDER BY created, email",  # noqa: S608
                [now_ms],
            )
            .fetchall()
        )
        return [_invite(r) for r in rows]

    def get_invite(self, key: str, now_ms: int) -> Invite | None:
        rows = (
            self._cursor()
            .execute(
                f"SELECT {_INVITE_COLUMNS} FROM invites WHERE key = ? AND expires > ?",  # noqa: S608
                [key, now_ms],
            )
            .fetchall()
        )
        return _invite(rows[0]) if rows else None

    def take_invite(self, key: str, now_ms: int) -> Invite | None:
        rows = self._change(
            f"DELETE FROM invites WHERE key = ? AND expires > ? RETURNING {_INVITE_COLUMNS}",  # noqa: S608
            [key, now_ms],
        )
        return _invite(rows[0]) if rows else None

    def delete_invite(self, invite_id: str) -> bool:
        return bool(self._change("DELETE FROM invites WHERE id = ? RETURNING id", [invite_id]))

    def delete_expired_invites(self, now_ms: int) -> int:
        return len(self._change("DELETE FROM invites WHERE expires <= ? RETURNING 1", [now_ms]))

    # -- recovery codes ---------------------------------------------------------------------
    def set_recovery_codes(self, user_id: str, hashes: Sequence[str]) -> None:
        with self._write_lock:
            cur = self._cursor()
            cur.execute("BEGIN TRANSACTION")
            try:
                cur.execute("DELETE FROM recovery_codes WHERE user_id = ?", [user_id])
                if hashes:
                    cur.executemany(
                        "INSERT INTO recovery_codes (user_id, hash) VALUES (?, ?)",
                        [[user_id, h] for h in dict.fromkeys(hashes)],
                    )
                cur.execute("COMMIT")
            except BaseException:
                rollback(cur)
                raise

    def use_recovery_code(self, user_id: str, code_hash: str) -> bool:
        return bool(
            self._change(
                "DELETE FROM recovery_codes WHERE user_id = ? AND hash = ? RETURNING 1",
                [user_id, code_hash],
            )
        )

    def count_recovery_codes(self, user_id: str) -> int:
        rows = (
            self._cursor()
            .execute("SELECT count(*) FROM recovery_codes WHERE user_id = ?", [user_id])
            .fetchall()
        )
        return int(rows[0][0])
