"""The `footfall` command. Server flags come from footfall.settings (each with a FOOTFALL_* variable)."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import Any

import click

from footfall.apps import AppError, AppRegistry
from footfall.clock import SystemClock
from footfall.settings import SETTINGS, SETTINGS_BY_NAME, Config, Setting, markdown_table
from footfall.store.base import Store, StoreError, open_store

_DURATION = re.compile(r"(\d+)\s*(h|d|w|m|y)")
_UNIT_MS = {
    "h": 3_600_000,
    "d": 86_400_000,
    "w": 7 * 86_400_000,
    "m": 30 * 86_400_000,
    "y": 365 * 86_400_000,
}


def parse_duration(text: str) -> int:
    """'24h', '7d', '4w', '6m', '1y' → milliseconds."""
    m = _DURATION.fullmatch(text.strip().lower())
    if not m or int(m.group(1)) == 0:
        raise click.BadParameter(f"{text!r} is not a duration like 24h, 7d, 4w, 6m or 1y")
    return int(m.group(1)) * _UNIT_MS[m.group(2)]


def _split_multi(
    ctx: click.Context, param: click.Parameter, value: tuple[str, ...]
) -> tuple[str, ...]:
    return tuple(part.strip() for item in value for part in item.split(",") if part.strip())


def _option(setting: Setting) -> Callable[[Any], Any]:
    kwargs: dict[str, Any] = {"envvar": setting.env, "show_envvar": True, "help": setting.help}
    if setting.type is bool:
        return click.option(
            setting.flag, setting.name, is_flag=True, default=setting.default, **kwargs
        )
    if setting.multiple:
        return click.option(
            setting.flag,
            setting.name,
            multiple=True,
            default=setting.default,
            callback=_split_multi,
            **kwargs,
        )
    return click.option(
        setting.flag,
        setting.name,
        type=setting.type,
        default=setting.default,
        show_default=True,
        **kwargs,
    )


def server_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    for setting in reversed(SETTINGS):
        fn = _option(setting)(fn)
    return fn


db_option = _option(SETTINGS_BY_NAME["db"])
store_option = _option(SETTINGS_BY_NAME["store"])


def _config(values: dict[str, Any]) -> Config:
    known = {s.name for s in SETTINGS}
    return Config(**{k: v for k, v in values.items() if k in known})


def _open(db: str, store: str = "") -> Store:
    try:
        return open_store(db, store or None)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None


def _registry(db: str, store: str = "") -> AppRegistry:
    return AppRegistry(_open(db, store), SystemClock())


def _find_app(registry: AppRegistry, key: str) -> Any:
    app = registry.resolve(key)
    if app is None:
        raise click.ClickException(f"no app {key!r} (see `footfall apps list`)")
    return app


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="footfall")
def main() -> None:
    """footfall — self-hosted web analytics."""


@main.command()
@server_options
def serve(**values: Any) -> None:
    """Run the collection server."""
    from footfall.server import serve as run

    try:
        run(_config(values))
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None


@main.command()
@server_options
@click.option(
    "--name", default="My site", show_default=True, help="Name of the first app, if there is none."
)
@click.option(
    "--url",
    "site_url",
    default="http://localhost",
    show_default=True,
    help="URL of the first app's site.",
)
def quickstart(name: str, site_url: str, **values: Any) -> None:
    """Create a first app if there is none, print its snippet, and serve (what `make run` does)."""
    from footfall.present.snippet import snippet
    from footfall.runtime import Runtime
    from footfall.server import serve as run

    config = _config(values)
    try:
        runtime = Runtime.build(config)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    apps = runtime.apps.all()
    app = apps[0] if apps else runtime.apps.create(name, site_url)
    base = f"http://{config.host}:{config.port}"
    click.echo(f"footfall is starting on {base} with {config.db}")
    click.echo(f"app {app.name!r}: {app.id}\nPaste this into your pages:\n")
    click.echo(snippet(app, base))
    click.echo(
        f"\nThen see the numbers with: footfall stats {app.id} --db {config.db}  (after stopping the server)\n"
    )
    run(config, runtime)


@main.group()
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
@db_option
@store_option
def apps_create(name: str, url: str, base_url: str, db: str, store: str) -> None:
    """Create an app; prints its UUID and its tracking snippet."""
    from footfall.present.snippet import snippet

    registry = _registry(db, store)
    try:
        app = registry.create(name, url)
    except AppError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        registry.store.close()
    click.echo(app.id)
    click.echo("\n" + snippet(app, base_url))


@apps.command("list")
@db_option
@store_option
def apps_list(db: str, store: str) -> None:
    """List apps."""
    from footfall.present.text import apps_table

    registry = _registry(db, store)
    click.echo(apps_table(registry.all()))
    registry.store.close()


@apps.command("delete")
@click.argument("app_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@db_option
@store_option
def apps_delete(app_id: str, yes: bool, db: str, store: str) -> None:
    """Delete an app and all its events."""
    registry = _registry(db, store)
    try:
        app = _find_app(registry, app_id)
        if not yes and sys.stdin.isatty():
            click.confirm(f"Delete {app.name!r} and all its events?", abort=True)
        registry.delete(app.id)
    finally:
        registry.store.close()
    click.echo(f"deleted {app.id}")


@main.command()
@click.argument("app_key")
@click.option(
    "--since", default="30d", show_default=True, help="How far back: 24h, 7d, 30d, 6m, 1y."
)
@db_option
@store_option
def stats(app_key: str, since: str, db: str, store: str) -> None:
    """Print pageviews, unique visitors, sessions and the top pages of an app."""
    from footfall.present.text import summary_text
    from footfall.query.summary import summary

    span = parse_duration(since)
    registry = _registry(db, store)
    try:
        app = _find_app(registry, app_key)
        now = SystemClock().now_ms()
        click.echo(summary_text(app, since, summary(registry.store, app.id, now - span, now + 1)))
    finally:
        registry.store.close()


@main.command("settings")
@click.option("--markdown", is_flag=True, help="As the Markdown table in docs/configuration.md.")
def settings_cmd(markdown: bool) -> None:
    """Show every server setting, its flag and environment variable."""
    if markdown:
        click.echo(markdown_table(), nl=False)
        return
    for s in SETTINGS:
        click.echo(f"{s.flag:22} {s.env:28} {s.default!r:20} {s.help}")
