"""`footfall export`, `footfall import` and `footfall rollups`: moving events in and out."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from footfall.cli.common import db_option, find_app, is_remote, open_registry, store_option
from footfall.clock import SystemClock

if TYPE_CHECKING:
    from footfall.apps import AppRegistry
    from footfall.store.rollups import Rollups


def _rollups(registry: AppRegistry) -> Rollups:
    from footfall.store.rollups import Rollups

    def tz_of(app_id: str) -> str | None:
        app = registry.get(app_id)
        return app.timezone if app else None

    return Rollups(registry.store, tz_of)


@click.command("export")
@click.argument("app_key")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["ndjson", "csv", "parquet"]),
    default="ndjson",
    show_default=True,
)
@click.option("--from", "first", default=None, help="First local day, YYYY-MM-DD.")
@click.option("--to", "last", default=None, help="Last local day, YYYY-MM-DD.")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File (default: stdout).",
)
@db_option
@store_option
def export_cmd(
    app_key: str,
    fmt: str,
    first: str | None,
    last: str | None,
    output: Path | None,
    db: str,
    store: str,
) -> None:
    """Write an app's raw events in the footfall event format (docs/event-format.md)."""
    from footfall.query import export

    registry = open_registry(db, store)
    try:
        app = find_app(registry, app_key)
        try:
            lo, hi = export.export_range(app, first, last)
        except ValueError:
            raise click.BadParameter(
                "dates look like 2026-01-31", param_hint="--from/--to"
            ) from None
        tables = export.event_tables(registry.store, app.id, lo, hi)
        out = output.open("wb") if output else sys.stdout.buffer
        try:
            if fmt == "parquet":
                out.write(export.parquet_bytes(tables))
            else:
                chunks = (
                    export.ndjson_lines(app, tables, SystemClock().now_ms())
                    if fmt == "ndjson"
                    else export.csv_chunks(tables)
                )
                for chunk in chunks:
                    out.write(chunk)
        finally:
            if output:
                out.close()
            else:
                out.flush()
    finally:
        registry.store.close()


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--app", "app_key", required=True, help="The app the events go to.")
@db_option
@store_option
def import_cmd(file: Path, app_key: str, db: str, store: str) -> None:
    """Read an NDJSON export back; hits already present (same hit_id) are skipped."""
    from footfall.query import export

    registry = open_registry(db, store)
    try:
        app = find_app(registry, app_key)
        with file.open("rb") as fh:
            from footfall.store.rollups import RollupFeed, rebuild_mark

            # folded in once, at the end (a file of any size: bounded steps); into a running
            # server's store unnumbered, and the server's upkeep rebuilds the app's rollups
            remote = is_remote(registry.store)
            feed = (
                None
                if remote
                else RollupFeed(_rollups(registry), SystemClock(), max_wait_ms=10**12)
            )
            try:
                added, skipped = export.import_hits(
                    registry.store, feed, export.read_ndjson(fh, app.id), app.id
                )
            except export.EventFormatError as exc:
                raise click.ClickException(f"{file}: {exc}") from None
            finally:  # what was written is counted, even when a later line was bad
                if feed is not None:
                    feed.fold()
                else:
                    registry.store.write([rebuild_mark(app.id)])
    finally:
        registry.store.close()
    click.echo(f"imported {added} hits into {app.name}; {skipped} were there already")


@click.group()
def rollups() -> None:
    """Maintain the rollup tables (they normally keep themselves up to date)."""


@rollups.command("rebuild")
@click.argument("app_key", required=False)
@db_option
@store_option
def rollups_rebuild(app_key: str | None, db: str, store: str) -> None:
    """Recompute rollups from raw events, for one app or all."""
    registry = open_registry(db, store)
    try:
        r = _rollups(registry)
        targets = [find_app(registry, app_key)] if app_key else registry.all()
        for app in targets:
            n = r.rebuild(app.id)
            click.echo(f"{app.name}: rebuilt from {n} hits")
    finally:
        registry.store.close()
