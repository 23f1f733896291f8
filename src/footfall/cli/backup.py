"""`footfall backup` and `footfall restore`: a consistent copy of the database, and putting one back.

docs/deployment.md ("Backups") says what a backup covers and how to restore one; how the copy is
made: footfall.store.duckdb_backup.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from footfall.cli.common import (
    db_option,
    is_remote,
    open_cli_store,
    spool_dir_option,
    store_option,
)
from footfall.settings import Config
from footfall.store import duckdb_backup
from footfall.store.base import StoreBusy, StoreError
from footfall.store.remote import RemoteStore, socket_path


def _size(n: int) -> str:
    return f"{n / 1e6:,.1f} MB" if n >= 100_000 else f"{n / 1e3:,.1f} kB"


def _count(n: int, thing: str) -> str:
    return f"{n:,} {thing}" + ("" if n == 1 else "s")


@click.command("backup")
@click.argument("dest", type=click.Path(dir_okay=False, path_type=Path))
@db_option
@store_option
def backup(dest: Path, db: str, store: str) -> None:
    """Copy the database to the new file DEST, also while the server runs.

    The copy holds everything committed at that moment (writes wait for it). A running server
    writes DEST itself, as its own user: its directory must be writable for that user."""
    target = os.path.abspath(dest)  # the server's working directory is not this one
    if os.path.lexists(target):
        raise click.ClickException(
            f"{target} exists already: a backup is a new file (choose another name)"
        )
    opened = open_cli_store(db, store)
    try:
        info = opened.backup(target)
        by = " (by the running server)" if is_remote(opened) else ""
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        opened.close()
    click.echo(
        f"backed up {db} to {info.path}{by}: {_size(info.bytes)}, {_count(info.apps, 'app')},"
        f" {_count(info.events, 'event')}; writes waited {info.paused_s:.1f} s"
    )
    if not os.path.exists(info.path):
        click.echo(
            f"warning: the server wrote {info.path}, but this command does not see it there: the"
            " server has a /tmp or file system of its own (systemd's PrivateTmp=, a container);"
            " back up into a directory it shares, such as one beside the database",
            err=True,
        )


@click.command("restore")
@click.argument("src", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace the database at --db if there is one.")
@db_option
@spool_dir_option
def restore(src: Path, force: bool, db: str, spool_dir: str) -> None:
    """Put the backup SRC in place as the database at --db. The server must be stopped; an
    existing database is replaced only with --force."""
    if socket_path(db) is None:
        raise click.ClickException(f"restore puts a DuckDB file in place; --db {db} is not one")
    source, target = os.path.abspath(src), os.path.abspath(db)
    if os.path.exists(target) and os.path.samefile(source, target):
        raise click.ClickException(f"{source} is the database at --db itself")
    _refuse_if_in_use(target)
    try:
        duckdb_backup.require_no_log(source)
        info = duckdb_backup.inspect(source)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    if os.path.lexists(target) and not force:
        raise click.ClickException(
            f"{target} exists: --force replaces it (back it up first if it may be needed)"
        )
    try:
        duckdb_backup.replace(source, target)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"restored {target} from {source}: {_size(info.bytes)}, {_count(info.apps, 'app')},"
        f" {_count(info.events, 'event')}"
    )
    _warn_about_the_spool(target, Config(db=target, spool_dir=spool_dir))


def _refuse_if_in_use(target: str) -> None:
    """A ClickException while a server (or any process) has the database at ``target`` open."""
    sock = socket_path(target)
    if sock is not None and sock.exists():
        try:
            RemoteStore(sock).close()
        except StoreError:
            pass  # a socket left by a server that was killed
        else:
            raise click.ClickException(
                f"a footfall server is running on {target} (it answers at {sock}):"
                " stop it first, then restore"
            )
    if os.path.exists(target):
        try:
            with duckdb_backup.read_only(target):
                pass
        except StoreBusy as exc:
            raise click.ClickException(f"{exc}; stop it first, then restore") from None
        except StoreError:
            pass  # a damaged file, maybe: the one being replaced


def _warn_about_the_spool(target: str, config: Config) -> None:
    """Hits the spool holds for the database that was there are loaded into the restored one at
    the next start: acknowledged hits are kept. Say so, and how to leave them out."""
    from footfall.runtime import spool_directory
    from footfall.spool import SpoolReader

    directory = spool_directory(config)
    try:
        segments = SpoolReader(directory).ready()
    except OSError:
        return  # no spool (yet)
    if not segments:
        return
    try:
        stored = duckdb_backup.loaded(target, [s.name for s in segments])
    except StoreError:
        stored = set()
    waiting = [s for s in segments if s.name not in stored]
    if waiting:
        click.echo(
            f"warning: the spool {directory} holds {_count(len(waiting), 'segment')}"
            f" ({_size(sum(s.size for s in waiting))}) of hits the restored database does not"
            " have: the next `footfall serve` stores them in it. To leave them out, delete the"
            " *.seg and *.open files in it before starting the server.",
            err=True,
        )
