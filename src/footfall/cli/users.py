"""`footfall users …`: dashboard accounts (create, list, delete, invite, role) and an operator's
ways back in (password, reset-2fa). Each goes through the Store, so it works on the file or,
while the server runs, through its socket."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from footfall.cli.common import db_option, find_app, open_registry, store_option
from footfall.model import Role, User

if TYPE_CHECKING:  # the dashboard is imported only by the commands that use it
    from footfall.apps import AppRegistry
    from footfall.dashboard.people import People


def read_password(prompt: bool) -> str:
    """From a hidden prompt (typed twice) on a terminal, else the first line of stdin."""
    if prompt and sys.stdin.isatty():
        from footfall.dashboard.accounts import MIN_PASSWORD

        click.echo(f"A password has at least {MIN_PASSWORD} characters.")
        return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))
    line = sys.stdin.readline()
    if not line:
        raise click.ClickException("no password: type it at the prompt or pipe it on stdin")
    return line.rstrip("\r\n")


@click.group()
def users() -> None:
    """Dashboard accounts: owners see and change everything, viewers read the apps they are granted."""


@users.command("create")
@click.argument("email")
@click.option(
    "--role",
    type=click.Choice(["owner", "viewer"]),
    default="owner",
    show_default=True,
    help="owner: everything; viewer: read-only on the --app apps.",
)
@click.option(
    "--app", "app_keys", multiple=True, help="An app a viewer may read (id or name; repeatable)."
)
@db_option
@store_option
def users_create(email: str, role: Role, app_keys: tuple[str, ...], db: str, store: str) -> None:
    """Create a dashboard user. The password is asked for, or read from the first line of stdin."""
    from footfall.dashboard.accounts import AccountError, Accounts
    from footfall.store.base import StoreError

    registry = open_registry(db, store)
    try:
        app_ids = [find_app(registry, key).id for key in app_keys]
        password = read_password(prompt=True)
        user = Accounts(registry.store, registry.clock).create_user(
            email,
            password,
            role=role,
            apps=app_ids,
        )
    except (AccountError, StoreError) as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        registry.store.close()
    click.echo(f"created {user.role} {user.email} ({user.id})")


@users.command("list")
@db_option
@store_option
def users_list(db: str, store: str) -> None:
    """List dashboard users."""
    registry = open_registry(db, store)
    try:
        found = registry.store.list_users()
    finally:
        registry.store.close()
    if not found:
        click.echo("no users yet: create one with `footfall users create EMAIL`")
    for user in found:
        apps = "all apps" if user.is_owner else (", ".join(user.apps) or "no apps")
        two_factor = "2fa" if user.totp_secret else "   "
        click.echo(f"{user.email:32}  {user.role:6}  {two_factor}  {apps}")


@contextmanager
def _changing(db: str, store: str) -> Iterator[AppRegistry]:
    """The registry, for commands that change accounts: errors become a message and exit 1."""
    from footfall.dashboard.accounts import AccountError
    from footfall.store.base import StoreError

    registry = open_registry(db, store)
    try:
        yield registry
    except (AccountError, StoreError) as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        registry.store.close()


def _user(registry: AppRegistry, email: str) -> User:
    user = registry.store.get_user_by_email(email.strip().lower())
    if user is None:
        raise click.ClickException(f"no user {email!r} (see `footfall users list`)")
    return user


def _people_of(registry: AppRegistry) -> People:
    from footfall.dashboard.accounts import Accounts
    from footfall.dashboard.people import People

    return People(Accounts(registry.store, registry.clock))


@users.command("delete")
@click.argument("email")
@db_option
@store_option
def users_delete(email: str, db: str, store: str) -> None:
    """Delete a user and log out their sessions (not the last owner)."""
    with _changing(db, store) as registry:
        user = _people_of(registry).remove(None, _user(registry, email).id)
    click.echo(f"deleted {user.email}")


@users.command("role")
@click.argument("email")
@click.option("--role", type=click.Choice(["owner", "viewer"]), required=True)
@click.option(
    "--app", "app_keys", multiple=True, help="An app a viewer may read (id or name; repeatable)."
)
@db_option
@store_option
def users_role(email: str, role: Role, app_keys: tuple[str, ...], db: str, store: str) -> None:
    """Set a user's role and, for a viewer, the apps they may read (the last owner stays one)."""
    with _changing(db, store) as registry:
        app_ids = [find_app(registry, key).id for key in app_keys]
        user = _people_of(registry).set_access(None, _user(registry, email).id, role, app_ids)
    click.echo(f"{user.email} is {'an owner' if user.is_owner else 'a viewer'}")


@users.command("invite")
@click.argument("email")
@click.option("--role", type=click.Choice(["owner", "viewer"]), default="viewer", show_default=True)
@click.option(
    "--app", "app_keys", multiple=True, help="An app a viewer may read (id or name; repeatable)."
)
@click.option(
    "--url",
    "base",
    default="",
    help="The dashboard's address, to print the whole link (e.g. https://stats.example).",
)
@db_option
@store_option
def users_invite(
    email: str, role: Role, app_keys: tuple[str, ...], base: str, db: str, store: str
) -> None:
    """Make a one-time invitation link (72 hours): whoever opens it sets the password."""
    from footfall.dashboard.people import INVITE_HOURS

    with _changing(db, store) as registry:
        app_ids = [find_app(registry, key).id for key in app_keys]
        token, invite = _people_of(registry).invite(None, email, role, app_ids)
    click.echo(f"{base.rstrip('/')}/invite/{token}")
    click.echo(f"(for {invite.email}, works once within {INVITE_HOURS} hours)", err=True)


@users.command("password")
@click.argument("email")
@db_option
@store_option
def users_password(email: str, db: str, store: str) -> None:
    """Set a user's password (asked for, or the first line of stdin); their sessions end."""
    from footfall.dashboard.accounts import Accounts

    with _changing(db, store) as registry:
        user = _user(registry, email)
        Accounts(registry.store, registry.clock).set_password(user, read_password(prompt=True))
    click.echo(f"new password for {user.email}; their sessions have ended")


@users.command("reset-2fa")
@click.argument("email")
@db_option
@store_option
def users_reset_two_factor(email: str, db: str, store: str) -> None:
    """Turn off a user's two-factor login and delete their recovery codes (a lost phone)."""
    from footfall.dashboard.accounts import Accounts

    with _changing(db, store) as registry:
        user = _user(registry, email)
        Accounts(registry.store, registry.clock).reset_two_factor(user)
    click.echo(f"two-factor login is off for {user.email}: they log in with the password alone")
