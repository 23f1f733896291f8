"""A DuckDB file made before invitations and two-factor login is upgraded in place when opened
for writing: its users and sessions stay, with two-factor off and no session pending."""

from __future__ import annotations

from pathlib import Path

import duckdb
import msgspec

from footfall.model import Invite, LoginSession, User
from footfall.store.duckdb import DuckDBStore

# the account tables as footfall made them before (no invites, no recovery codes)
OLD_DDL = (
    "CREATE TABLE users (id VARCHAR PRIMARY KEY, email VARCHAR NOT NULL UNIQUE,"
    " password_hash VARCHAR NOT NULL, role VARCHAR NOT NULL, apps VARCHAR NOT NULL,"
    " created BIGINT NOT NULL)",
    "CREATE TABLE login_sessions (key VARCHAR PRIMARY KEY, user_id VARCHAR NOT NULL,"
    " csrf VARCHAR NOT NULL, created BIGINT NOT NULL, expires BIGINT NOT NULL)",
    "INSERT INTO users VALUES ('u1', 'ann@example.com', '$argon2id$old', 'owner', '[]', 7)",
    "INSERT INTO login_sessions VALUES ('k1', 'u1', 'csrf1', 7, 99)",
)


def test_a_file_from_before_two_factor_keeps_its_accounts_and_gets_the_new_tables(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as con:
        for statement in OLD_DDL:
            con.execute(statement)
    store = DuckDBStore(str(path))
    try:
        ann = store.get_user("u1")
        assert ann == User(
            id="u1", email="ann@example.com", password_hash="$argon2id$old", role="owner", created=7
        )
        assert ann.totp_secret is None and ann.totp_step == 0
        assert store.get_login_session("k1") == LoginSession(
            key="k1", user_id="u1", csrf="csrf1", created=7, expires=99, pending=False
        )
        store.save_user(msgspec.structs.replace(ann, totp_secret="B" * 32, totp_step=3))
        store.set_recovery_codes("u1", ["h1"])
        store.create_invite(Invite(id="i1", key="k", email="bob@example.com", expires=10))
    finally:
        store.close()
    again = DuckDBStore(str(path))  # opening an upgraded file again changes nothing
    try:
        assert again.get_user("u1").totp_step == 3  # type: ignore[union-attr]
        assert again.count_recovery_codes("u1") == 1
        assert [i.email for i in again.list_invites(0)] == ["bob@example.com"]
    finally:
        again.close()
