"""`footfall keys …`: Stats API keys. A key is printed once; only its SHA-256 is stored."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from footfall.cli.common import db_option, find_app, open_registry, store_option
from footfall.clock import SystemClock
from footfall.keys import KeyRing


@click.group()
def keys() -> None:
    """Create, list and revoke Stats API keys."""


@keys.command("create")
@click.option(
    "--app", "app_key", default=None, help="Limit the key to one app (default: every app)."
)
@click.option("--name", default="", help="A note to recognise the key by.")
@click.option(
    "--sites",
    is_flag=True,
    help="The key may also create, change and delete apps (the Sites API); not with --app.",
)
@db_option
@store_option
def keys_create(app_key: str | None, name: str, sites: bool, db: str, store: str) -> None:
    """Create a key and print it (the only time it is shown)."""
    if sites and app_key:
        raise click.UsageError("--sites: a key that manages sites is a key for every app")
    registry = open_registry(db, store)
    try:
        app_id = find_app(registry, app_key).id if app_key else None
        key, secret = KeyRing(registry.store, SystemClock()).create(app_id, name, sites=sites)
    finally:
        registry.store.close()
    click.echo(secret)
    scope = f"app {app_id}" if app_id else "every app"
    scope += " and the Sites API" if sites else ""
    click.echo(f"key {key.id} for {scope}; store it now: footfall keeps only a hash", err=True)


@keys.command("list")
@db_option
@store_option
def keys_list(db: str, store: str) -> None:
    """List keys (ids, scope, state); secrets are never shown again."""
    registry = open_registry(db, store)
    try:
        found = KeyRing(registry.store, SystemClock()).list()
    finally:
        registry.store.close()
    if not found:
        click.echo("no API keys yet: create one with `footfall keys create`")
        return
    for k in found:
        when = datetime.fromtimestamp(k.created / 1000, UTC).strftime("%Y-%m-%d %H:%M")
        state = "revoked" if k.revoked else "active"
        scope = (k.app_id or "every app") + (" + sites" if k.sites else "")
        click.echo(f"{k.id}  {state:7}  {scope:36}  {when}  {k.name}")


@keys.command("revoke")
@click.argument("key_id")
@db_option
@store_option
def keys_revoke(key_id: str, db: str, store: str) -> None:
    """Revoke a key by its id (from `footfall keys list`)."""
    registry = open_registry(db, store)
    try:
        done = KeyRing(registry.store, SystemClock()).revoke(key_id)
    finally:
        registry.store.close()
    if not done:
        raise click.ClickException(f"no active key {key_id!r} (see `footfall keys list`)")
    click.echo(f"revoked {key_id}")
