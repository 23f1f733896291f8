"""`footfall users role|invite|password|reset-2fa|delete`: what an operator needs, through the
same Store calls and rules as the users page."""

from __future__ import annotations

import time
from pathlib import Path

from click.testing import CliRunner

from footfall.cli import main
from footfall.clock import FrozenClock
from footfall.dashboard.accounts import Accounts
from footfall.dashboard.people import People
from footfall.model import LoginSession
from footfall.store.duckdb import DuckDBStore

PASSWORD = "a long enough password"


def run(db: Path, *args: str, stdin: str = "") -> tuple[int, str]:
    result = CliRunner().invoke(main, [*args, "--db", str(db)], input=stdin)
    return result.exit_code, result.output


def make(db: Path, email: str, *extra: str) -> None:
    if not db.exists():  # users are added to a database that exists (apps create makes one)
        assert run(db, "apps", "create", "Site")[0] == 0
    code, out = run(db, "users", "create", email, *extra, stdin=PASSWORD + "\n")
    assert code == 0, out


def test_the_last_owner_can_be_neither_deleted_nor_demoted(db_path: Path) -> None:
    make(db_path, "owner@example.com")
    code, out = run(db_path, "users", "delete", "owner@example.com")
    assert code == 1 and "last owner" in out
    code, out = run(db_path, "users", "role", "owner@example.com", "--role", "viewer")
    assert code == 1 and "last owner" in out
    make(db_path, "second@example.com")
    assert run(db_path, "users", "role", "owner@example.com", "--role", "viewer")[0] == 0
    assert run(db_path, "users", "delete", "owner@example.com")[0] == 0
    code, out = run(db_path, "users", "delete", "nobody@example.com")
    assert code == 1 and "no user" in out


def test_role_grants_a_viewer_named_apps(db_path: Path) -> None:
    make(db_path, "owner@example.com")
    make(db_path, "v@example.com", "--role", "viewer")
    assert run(db_path, "apps", "create", "Blog", "--url", "blog.example")[0] == 0
    code, out = run(db_path, "users", "role", "v@example.com", "--role", "viewer", "--app", "Blog")
    assert code == 0 and "a viewer" in out
    store = DuckDBStore(str(db_path))
    try:
        [app] = [a for a in store.list_apps() if a.name == "Blog"]
        assert store.get_user_by_email("v@example.com").apps == [app.id]  # type: ignore[union-attr]
    finally:
        store.close()


def test_invite_prints_a_one_time_link(db_path: Path) -> None:
    assert run(db_path, "apps", "create", "Site")[0] == 0  # the database exists
    code, out = run(
        db_path,
        "users",
        "invite",
        "New@example.com",
        "--role",
        "owner",
        "--url",
        "https://s.example/",
    )
    assert code == 0, out
    link = out.splitlines()[0]
    assert link.startswith("https://s.example/invite/")
    store = DuckDBStore(str(db_path))
    try:
        now = FrozenClock(int(time.time() * 1000))
        later = FrozenClock(now.now_ms() + 72 * 3_600_000 + 60_000)
        assert People(Accounts(store, later)).invite_of(link.rsplit("/", 1)[1]) is None
        people = People(Accounts(store, now))
        user = people.accept(link.rsplit("/", 1)[1], PASSWORD, PASSWORD)
        assert user.email == "new@example.com" and user.is_owner
    finally:
        store.close()
    code, out = run(db_path, "users", "invite", "new@example.com")
    assert code == 1 and "has an account already" in out


def test_password_sets_a_new_one_and_ends_the_users_sessions(db_path: Path) -> None:
    make(db_path, "owner@example.com")
    store = DuckDBStore(str(db_path))
    user = store.get_user_by_email("owner@example.com")
    assert user is not None
    store.create_login_session(
        LoginSession(key="k", user_id=user.id, csrf="c", created=0, expires=10**14)
    )
    store.close()
    code, out = run(db_path, "users", "password", "owner@example.com", stdin="short\n")
    assert code == 1 and "at least 10 characters" in out
    code, out = run(db_path, "users", "password", "owner@example.com", stdin="the new password\n")
    assert code == 0 and "sessions have ended" in out
    store = DuckDBStore(str(db_path))
    try:
        accounts = Accounts(store, FrozenClock())
        assert store.get_login_session("k") is None
        assert accounts.authenticate("owner@example.com", "the new password") is not None
        assert accounts.authenticate("owner@example.com", PASSWORD) is None
    finally:
        store.close()


def test_reset_2fa_turns_two_factor_login_off_and_drops_the_recovery_codes(
    db_path: Path,
) -> None:
    make(db_path, "owner@example.com")
    store = DuckDBStore(str(db_path))
    clock = FrozenClock()
    try:
        import pyotp

        accounts = Accounts(store, clock)
        user = store.get_user_by_email("owner@example.com")
        assert user is not None
        secret = pyotp.random_base32(32)
        accounts.enable_two_factor(user, secret, pyotp.TOTP(secret).at(clock.now_ms() // 1000))
        assert store.count_recovery_codes(user.id) == 10
    finally:
        store.close()
    assert "2fa" in run(db_path, "users", "list")[1]
    code, out = run(db_path, "users", "reset-2fa", "owner@example.com")
    assert code == 0 and "two-factor login is off" in out
    store = DuckDBStore(str(db_path))
    try:
        after = store.get_user(user.id)
        assert after is not None and after.totp_secret is None
        assert store.count_recovery_codes(user.id) == 0
    finally:
        store.close()
