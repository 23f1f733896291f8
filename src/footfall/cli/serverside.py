"""`footfall apps alias` and `footfall apps secret`: what server-side senders need to address an app."""

from __future__ import annotations

import re
import secrets

import click
import msgspec

from footfall.apps import AppError
from footfall.cli.apps import apps
from footfall.cli.common import db_option, find_app, open_registry, store_option

_ALIAS = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")


@apps.command("alias")
@click.argument("app_key")
@click.argument("aliases", nargs=-1)
@click.option("--remove", is_flag=True, help="Remove the given aliases instead of adding them.")
@db_option
@store_option
def apps_alias(app_key: str, aliases: tuple[str, ...], remove: bool, db: str, store: str) -> None:
    """Add tracking ids such as UA-12345-6 or G-ABC123 to an app.

    An alias selects the app as a Measurement Protocol `tid`, a GA4 `measurement_id`, a
    Plausible domain, an Umami website id or a Matomo site id (`idsite`, e.g. 3).
    Without ALIASES, lists the app's aliases."""
    registry = open_registry(db, store)
    try:
        app = find_app(registry, app_key)
        if not aliases:
            for alias in app.aliases:
                click.echo(alias)
            return
        for alias in aliases:
            if not _ALIAS.fullmatch(alias):
                raise click.BadParameter(
                    f"{alias!r}: use letters, digits, '.', '_', ':' or '-' (at most 64)",
                    param_hint="ALIASES",
                )
        current = list(app.aliases)
        if remove:
            drop = {a.lower() for a in aliases}
            current = [a for a in current if a.lower() not in drop]
        else:
            known = {a.lower() for a in current}
            current += [a for a in dict.fromkeys(aliases) if a.lower() not in known]
        registry.save(msgspec.structs.replace(app, aliases=current))
        click.echo(f"{app.id}: {', '.join(current) or '(no aliases)'}")
    except AppError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        registry.store.close()


@apps.command("secret")
@click.argument("app_key")
@click.option("--rotate", is_flag=True, help="Replace the secret with a new random one.")
@db_option
@store_option
def apps_secret(app_key: str, rotate: bool, db: str, store: str) -> None:
    """Print the app's API secret (GA4 `api_secret`; v1 hits need it when --require-api-key is on).

    Rotating it also changes the hashed visitor ids of Measurement Protocol client ids."""
    registry = open_registry(db, store)
    try:
        app = find_app(registry, app_key)
        if rotate or not app.api_secret:
            app = msgspec.structs.replace(app, api_secret=secrets.token_urlsafe(18))
            registry.save(app)
        click.echo(app.api_secret)
    finally:
        registry.store.close()
