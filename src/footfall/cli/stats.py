"""`footfall stats`: numbers in the terminal."""

from __future__ import annotations

import click

from footfall.cli.common import db_option, find_app, open_registry, parse_duration, store_option
from footfall.clock import SystemClock


@click.command()
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
    registry = open_registry(db, store)
    try:
        app = find_app(registry, app_key)
        now = SystemClock().now_ms()
        click.echo(summary_text(app, since, summary(registry.store, app.id, now - span, now + 1)))
    finally:
        registry.store.close()
