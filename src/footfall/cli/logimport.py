"""`footfall import-log`: replay nginx/Apache access logs into the store."""

from __future__ import annotations

import gzip
import os
import sys
import time
from functools import partial
from typing import TYPE_CHECKING

import click

from footfall.cli.common import db_option, find_app, is_remote, open_registry, store_option

if TYPE_CHECKING:
    from footfall.logimport import Report


class Progress:
    """A one-line progress display on stderr: percent of bytes, lines and lines per second."""

    def __init__(self, name: str, total_bytes: int, enabled: bool) -> None:
        self.name = name
        self.total = total_bytes
        self.enabled = enabled
        self.start = time.monotonic()
        self.last = 0.0
        self.base_lines = 0
        self.base_bytes = 0

    def show(self, lines: int, bytes_read: int, final: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not final and now - self.last < 0.2):
            return
        self.last = now
        lines -= self.base_lines
        bytes_read -= self.base_bytes
        rate = lines / max(now - self.start, 1e-6)
        share = f"{min(100, 100 * bytes_read // self.total):3d}% " if self.total else ""
        width = 24
        filled = width * bytes_read // self.total if self.total else 0
        bar = f"[{'#' * filled}{'.' * (width - filled)}] " if self.total else ""
        click.echo(
            f"\r{self.name}: {bar}{share}{lines:,} lines  {rate:,.0f} lines/s",
            err=True,
            nl=final,
        )


def _tick(bar: Progress, report: Report) -> None:
    bar.show(report.read, report.bytes_read)


@click.command("import-log")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--app", "app_key", required=True, help="App id, alias or name to import into.")
@click.option(
    "--format",
    "log_format",
    type=click.Choice(["combined", "common"]),
    default="combined",
    show_default=True,
    help="Log format (nginx and Apache share these).",
)
@click.option("--host", default="", help="Host name for the stored URLs (default: the app's).")
@click.option("--include-static", is_flag=True, help="Also import CSS, JS, images, fonts, ...")
@click.option("--include-errors", is_flag=True, help="Also import 4xx/5xx responses.")
@click.option("--include-bots", is_flag=True, help="Also import requests from bots and crawlers.")
@click.option(
    "--method",
    "methods",
    multiple=True,
    default=["GET"],
    show_default=True,
    help="Methods to import.",
)
@click.option(
    "--progress/--no-progress", default=None, help="Progress bar (default: on a terminal)."
)
@db_option
@store_option
def import_log(
    files: tuple[str, ...],
    app_key: str,
    log_format: str,
    host: str,
    include_static: bool,
    include_errors: bool,
    include_bots: bool,
    methods: tuple[str, ...],
    progress: bool | None,
    db: str,
    store: str,
) -> None:
    """Import access-log FILES (plain or .gz; '-' for stdin) as hits with their original times,
    addresses and user agents. Importing a file again adds nothing."""
    from footfall.enrich.pipeline import Enricher, default_steps
    from footfall.logimport import STATIC_EXTENSIONS, LogImporter, Options, chunked, open_log
    from footfall.settings import Config

    registry = open_registry(db, store)
    try:
        app = find_app(registry, app_key)
        options = Options(
            format=log_format,
            host=host,
            methods=frozenset(m.upper() for m in methods),
            include_errors=include_errors,
            static_extensions=frozenset() if include_static else STATIC_EXTENSIONS,
            skip_bots=not include_bots,
        )
        enricher = Enricher(default_steps(Config(db=db)))
        show = sys.stderr.isatty() if progress is None else progress
        from footfall.clock import SystemClock
        from footfall.store.rollups import RollupFeed, Rollups, rebuild_mark

        feed = None
        if not is_remote(registry.store):
            rollups = Rollups(
                registry.store, lambda app_id: getattr(registry.get(app_id), "timezone", None)
            )
            # bigger folds than a live server's: a fold costs about the same whatever its size
            feed = RollupFeed(rollups, SystemClock(), max_rows=200_000, max_wait_ms=10**12)
        # into a running server's store: unnumbered, and its upkeep rebuilds the app's rollups
        write = feed.write if feed is not None else registry.store.append_hits
        importer = LogImporter(registry.store, app, enricher, options, write=write)
        report = importer.report
        started = time.monotonic()
        for path in files:
            try:
                stream = sys.stdin.buffer if path == "-" else open_log(path)
            except OSError as exc:
                raise click.ClickException(f"{path}: {exc}") from None
            plain = path != "-" and not isinstance(stream, gzip.GzipFile)
            bar = Progress(path, os.path.getsize(path) if plain else 0, show)
            bar.base_lines, bar.base_bytes = report.read, report.bytes_read
            try:
                importer.feed(chunked(stream, 20_000, partial(_tick, bar, report)))
                importer.write()
            except OSError as exc:
                raise click.ClickException(f"{path}: {exc}") from None
            finally:
                if stream is not sys.stdin.buffer:
                    stream.close()
            bar.show(report.read, report.bytes_read, final=True)
        if feed is not None:
            feed.fold()  # the rollups include the imported hits before the command ends
        else:
            registry.store.write([rebuild_mark(app.id)])
        elapsed = time.monotonic() - started
        for line in report.lines():
            click.echo(line)
        click.echo(f"{report.read / max(elapsed, 1e-6):,.0f} lines/s over {elapsed:.1f} s")
    finally:
        registry.store.close()
