"""`footfall apps …`: create, list, change and delete apps."""

from __future__ import annotations

import sys

import click

from footfall.apps import AppError
from footfall.cli.common import db_option, find_app, open_registry, store_option


@click.group()
def apps() -> None:
    """Create, list and delete apps (sites or services)."""


@apps.command("create")
@click.argument("name")
@click.option("--url", default="", help="The site's address, e.g. https://example.com")
@click.option(
    "--base-url",
    default="http://127.0.0.1:8000",
    show_default=True,
    help="Where footfall is reachable, for the snippet.",
)
@click.option(
    "--identity",
    type=click.Choice(["cookieless", "cookie", "first-party"]),
    default="cookieless",
    show_default=True,
    help="How visitors are identified (see docs/privacy.md).",
)
@db_option
@store_option
def apps_create(name: str, url: str, base_url: str, identity: str, db: str, store: str) -> None:
    """Create an app; prints its UUID and its tracking snippet."""
    from urllib.parse import urlsplit

    from footfall.apps import cookie_warning
    from footfall.present.snippet import snippet

    registry = open_registry(db, store, create=True)
    try:
        app = registry.create(name, url, identity)  # type: ignore[arg-type]
    except AppError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        registry.store.close()
    click.echo(app.id)
    click.echo("\n" + snippet(app, base_url))
    warning = cookie_warning(app, urlsplit(base_url).hostname)
    if warning:
        click.echo(f"warning: {warning}", err=True)


@apps.command("list")
@db_option
@store_option
def apps_list(db: str, store: str) -> None:
    """List apps."""
    from footfall.present.text import apps_table

    registry = open_registry(db, store)
    click.echo(apps_table(registry.all()))
    registry.store.close()


@apps.command("delete")
@click.argument("app_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@db_option
@store_option
def apps_delete(app_id: str, yes: bool, db: str, store: str) -> None:
    """Delete an app and all its events. Asks first on a terminal; without one, only with --yes."""
    registry = open_registry(db, store)
    try:
        app = find_app(registry, app_id)
        if not yes:
            if not sys.stdin.isatty():
                raise click.ClickException(
                    f"deleting {app.name!r} removes all its events: without a terminal to confirm"
                    " at, add --yes"
                )
            click.confirm(f"Delete {app.name!r} and all its events?", abort=True)
        registry.delete(app.id)
    finally:
        registry.store.close()
    click.echo(f"deleted {app.id}")


def _retention(value: str | None) -> int | None:
    if value is None or value in ("", "forever", "0"):
        return None
    from footfall.cli.common import parse_duration

    return max(1, parse_duration(value) // 86_400_000)


@apps.command("set")
@click.argument("app_key")
@click.option("--name", help="New name.")
@click.option("--url", help="New site address.")
@click.option(
    "--identity",
    type=click.Choice(["cookie", "cookieless", "first-party"]),
    help="How visitors are identified.",
)
@click.option("--timezone", help="IANA time zone for reports, e.g. Europe/Berlin.")
@click.option("--respect-dnt/--ignore-dnt", default=None, help="Honour DNT: 1 and Sec-GPC: 1.")
@click.option(
    "--dnt-action", type=click.Choice(["anonymous", "drop"]), help="What honouring DNT/GPC means."
)
@click.option(
    "--exclude-ip", multiple=True, help="Address or CIDR range whose hits are ignored (repeatable)."
)
@click.option(
    "--exclude-path",
    multiple=True,
    help="Path glob whose hits are ignored, e.g. /admin/** (repeatable).",
)
@click.option(
    "--clear-excludes", is_flag=True, help="Remove all excluded addresses and paths first."
)
@click.option("--retention", help="Keep raw events this long (90d, 1y) or 'forever'.")
@click.option(
    "--store-full-ip/--truncate-ip",
    default=None,
    help="Override the server's IP truncation for this app.",
)
@click.option(
    "--require-api-key/--no-require-api-key",
    default=None,
    help="Server-side endpoints need the app's API secret.",
)
@db_option
@store_option
def apps_set(app_key: str, db: str, store: str, **changes: object) -> None:
    """Change an app's settings."""
    import ipaddress

    import msgspec

    registry = open_registry(db, store)
    try:
        app = find_app(registry, app_key)
        updates: dict[str, object] = {}
        for key in (
            "name",
            "identity",
            "timezone",
            "respect_dnt",
            "dnt_action",
            "store_full_ip",
            "require_api_key",
        ):
            if changes.get(key) is not None:
                updates[key] = changes[key]
        if changes.get("url") is not None:
            from footfall.apps import normalise_url

            updates["url"] = normalise_url(str(changes["url"]))
        if changes.get("timezone"):
            from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

            try:
                ZoneInfo(str(changes["timezone"]))
            except (ZoneInfoNotFoundError, ValueError):
                raise click.BadParameter(
                    f"unknown time zone {changes['timezone']!r}", param_hint="--timezone"
                ) from None
        exclude_ips = [] if changes["clear_excludes"] else list(app.exclude_ips)
        for value in changes["exclude_ip"]:  # type: ignore[attr-defined]
            try:
                exclude_ips.append(str(ipaddress.ip_network(value, strict=False)))
            except ValueError:
                raise click.BadParameter(
                    f"{value!r} is not an address or CIDR range", param_hint="--exclude-ip"
                ) from None
        exclude_paths = [] if changes["clear_excludes"] else list(app.exclude_paths)
        exclude_paths += [p for p in changes["exclude_path"] if p]  # type: ignore[attr-defined]
        updates["exclude_ips"] = exclude_ips
        updates["exclude_paths"] = exclude_paths
        if changes.get("retention") is not None:
            updates["retention_days"] = _retention(str(changes["retention"]))
        saved = msgspec.structs.replace(app, **updates)
        registry.save(saved)
        click.echo(f"updated {app.id}")
        if changes.get("identity") is not None:
            from footfall.apps import cookie_warning

            warning = cookie_warning(saved, None)
            if warning:
                click.echo(f"warning: {warning}", err=True)
    except AppError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        registry.store.close()
