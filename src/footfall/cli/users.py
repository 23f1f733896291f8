"""`footfall users …`: dashboard accounts (create, list, delete)."""

from __future__ import annotations

import sys

import click

from footfall.cli.common import db_option, find_app, open_registry, store_option
from footfall.model import Role


def read_password(prompt: bool) -> str:
    """From a hidden prompt (typed twice) on a terminal, else the first line of stdin."""
    if prompt and sys.stdin.isatty():
        from footfall.dashboard.accounts import PASSWORD_RULE

        click.echo(PASSWORD_RULE)
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
        click.echo(f"{user.email:32}  {user.role:6}  {apps}")


@users.command("delete")
@click.argument("email")
@db_option
@store_option
def users_delete(email: str, db: str, store: str) -> None:
    """Delete a user and log out their sessions."""
    registry = open_registry(db, store)
    try:
        user = registry.store.get_user_by_email(email.strip().lower())
        if user is None:
            raise click.ClickException(f"no user {email!r} (see `footfall users list`)")
        registry.store.delete_user(user.id)
    finally:
        registry.store.close()
    click.echo(f"deleted {user.email}")
