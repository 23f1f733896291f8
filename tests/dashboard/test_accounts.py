"""`footfall users create` and the accounts behind the login: Argon2id hashes, no default passwords."""

from __future__ import annotations

from pathlib import Path

from argon2 import PasswordHasher
from click.testing import CliRunner

from footfall.cli import main
from footfall.store.duckdb import DuckDBStore

PASSWORD = "a long enough password"


def run(db: Path, *args: str, stdin: str = "") -> tuple[int, str]:
    result = CliRunner().invoke(main, [*args, "--db", str(db)], input=stdin)
    return result.exit_code, result.output


def test_users_create_reads_the_password_from_stdin_and_stores_only_an_argon2id_hash(
    db_path: Path,
) -> None:
    assert run(db_path, "apps", "create", "Blog")[0] == 0  # the database: made by an app
    code, out = run(db_path, "users", "create", "Ann@Example.com", stdin=PASSWORD + "\n")
    assert code == 0, out
    assert "created owner ann@example.com" in out
    store = DuckDBStore(str(db_path))
    try:
        user = store.get_user_by_email("ann@example.com")
        assert user is not None and user.role == "owner"
        assert user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash
        assert PasswordHasher().verify(user.password_hash, PASSWORD)
    finally:
        store.close()


def test_users_create_refuses_a_missing_or_short_password_and_a_second_account(
    db_path: Path,
) -> None:
    assert run(db_path, "apps", "create", "Blog")[0] == 0
    code, out = run(db_path, "users", "create", "ann@example.com")
    assert code != 0 and "no password" in out
    code, out = run(db_path, "users", "create", "ann@example.com", stdin="short\n")
    assert code != 0 and "at least 10 characters" in out
    assert run(db_path, "users", "create", "ann@example.com", stdin=PASSWORD + "\n")[0] == 0
    code, out = run(db_path, "users", "create", "ANN@example.com", stdin=PASSWORD + "\n")
    assert code != 0 and "exists already" in out
    code, out = run(db_path, "users", "create", "not-an-email", stdin=PASSWORD + "\n")
    assert code != 0 and "not an email address" in out


def test_a_viewer_is_granted_named_apps_only(db_path: Path) -> None:
    assert run(db_path, "apps", "create", "Blog", "--url", "blog.example")[0] == 0
    code, out = run(
        db_path, "users", "create", "v@example.com", "--role", "viewer", "--app", "nope"
    )
    assert code != 0 and "no app 'nope'" in out
    code, out = run(
        db_path,
        "users",
        "create",
        "v@example.com",
        "--role",
        "viewer",
        "--app",
        "Blog",
        stdin=PASSWORD + "\n",
    )
    assert code == 0, out
    code, out = run(db_path, "users", "list")
    assert "v@example.com" in out and "viewer" in out
    store = DuckDBStore(str(db_path))
    try:
        (app,) = store.list_apps()
        viewer = store.get_user_by_email("v@example.com")
        assert viewer is not None and viewer.apps == [app.id]
        assert viewer.can_read(app.id) and not viewer.can_read("another-app")
    finally:
        store.close()
    code, out = run(db_path, "users", "delete", "v@example.com")
    assert code == 0, out
    assert "no users yet" in run(db_path, "users", "list")[1]
