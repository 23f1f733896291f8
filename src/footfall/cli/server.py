"""`footfall serve`, `footfall quickstart` and `footfall settings`."""

from __future__ import annotations

import shlex
from typing import Any

import click

from footfall.cli.common import command_name, config_from, server_options
from footfall.enrich.geo import GeoDatabaseError
from footfall.settings import SETTINGS, SettingError, markdown_table
from footfall.store.base import StoreError


@click.command()
@server_options
def serve(**values: Any) -> None:
    """Run the collection server."""
    from footfall.server import serve as run

    try:
        run(config_from(values))
    except (StoreError, GeoDatabaseError, SettingError) as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:  # Ctrl-C after a clean shutdown: every hit is written
        pass


@click.command()
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

    config = config_from(values)
    try:
        runtime = Runtime.build(config)
    except (StoreError, GeoDatabaseError, SettingError) as exc:
        raise click.ClickException(str(exc)) from None
    apps = runtime.apps.all()
    app = apps[0] if apps else runtime.apps.create(name, site_url)
    base = f"http://{config.host}:{config.port}"
    first_user(runtime, config.db)
    click.echo(f"footfall is starting on {base} with {config.db}; dashboard: {base}/apps")
    click.echo(f"app {app.name!r}: {app.id}\nPaste this into your pages:\n")
    click.echo(snippet(app, base))
    footfall = command_name()
    db = shlex.quote(config.db)
    click.echo(f"\nThen see the numbers with: {footfall} stats {app.id} --db {db}\n")
    try:
        run(config, runtime)
    except KeyboardInterrupt:
        pass


def first_user(runtime: Any, db: str) -> None:
    """With no dashboard user yet: ask for the first owner on a terminal, else say how to create one.
    There is never a default password."""
    import sys

    from footfall.dashboard.accounts import MIN_PASSWORD, AccountError, Accounts

    accounts = Accounts(runtime.store, runtime.clock)
    if accounts.has_users():
        return
    create = f"{command_name()} users create you@example.com --db {shlex.quote(db)}"
    if not sys.stdin.isatty():
        click.echo(
            "No dashboard user yet. Create the first owner (the server may keep running) with:\n"
            f"  {create}\n"
        )
        return
    click.echo(
        "No dashboard user yet: create the first owner (Ctrl-C to skip)."
        f" A password has at least {MIN_PASSWORD} characters."
    )
    while True:
        try:
            email = click.prompt("Email")
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
            user = accounts.create_user(email, password, role="owner")
        except AccountError as exc:
            click.echo(f"  {exc}")
            continue
        except click.Abort:
            click.echo(f"\nSkipped; later: {create}")
            return
        click.echo(f"Created owner {user.email}.\n")
        return


@click.command("settings")
@click.option("--markdown", is_flag=True, help="As the Markdown table in docs/configuration.md.")
def settings_cmd(markdown: bool) -> None:
    """Show every server setting, its flag and environment variable."""
    if markdown:
        click.echo(markdown_table(), nl=False)
        return
    for s in SETTINGS:
        click.echo(f"{s.flag:22} {s.env:28} {s.default!r:20} {s.help}")
