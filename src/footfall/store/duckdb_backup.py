"""Whole copies of a DuckDB file: ``footfall backup`` (:meth:`DuckDBStore.backup
<footfall.store.duckdb.DuckDBStore.backup>` writes one with :func:`new_file` and
:func:`copy_file`) and ``footfall restore`` (:func:`inspect`, :func:`replace`).

How a backup is made: with every write held back (the store's write lock and its append lock),
a ``CHECKPOINT`` moves what the write-ahead log holds into the file; the file alone is then every
committed transaction, and it is copied byte for byte before the locks are let go (the fsync
comes after). On a 337 MB file (3 million hits in 10 apps) ``footfall backup`` of a running
server held writes back 0.4-0.7 s, and the server's memory did not grow (107 MB). The
alternative, ``ATTACH`` the destination and ``COPY FROM DATABASE``, re-encodes every row: 21.6 s
within the resting memory limit (the process grew from 72 to 165 MB), 9.2 s with the limit
raised (871 MB), for a file a third smaller (a plain copy keeps the free blocks the file has).
Hits are acknowledged meanwhile either way (they wait in the spool), but logins, rollup folds
and the spool's loads would wait that long.

The bytes are read by a child process, never by this one: DuckDB locks the file with ``fcntl``,
and closing any descriptor of the file in the process holding the lock drops the lock (tried:
another process could then open the database).

Files are created mode 0600, owned by the process that writes them — the server's user when a
server makes the backup: the database holds password hashes, API key hashes and the salts of
cookieless visitor ids.
"""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import duckdb

from footfall.schema import COLUMN_NAMES
from footfall.store.base import BackupInfo, StoreBusy, StoreError

# what makes a DuckDB file footfall's: tables and columns every version has had
REQUIRED: dict[str, set[str]] = {
    "events": set(COLUMN_NAMES),
    "apps": {"id", "name", "url", "created", "settings"},
}
_COPY = (
    "import shutil, sys\n"
    "with open(sys.argv[1], 'rb') as src:\n"
    "    shutil.copyfileobj(src, sys.stdout.buffer, 1 << 20)\n"
)
# a read of counts and the catalog, in the server too: little memory, one thread
_READ_ONLY: dict[str, Any] = {"memory_limit": "64MB", "threads": 1}


def user() -> str:
    """This process's user, by name."""
    uid = os.geteuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def check_destination(dest: str, database: str) -> None:
    """StoreError unless ``dest`` may become a new copy of ``database``."""
    if not os.path.isabs(dest):
        raise StoreError(f"a backup's path must be absolute, not {dest!r}")
    if os.path.lexists(dest):
        raise StoreError(f"{dest} exists already: a backup is a new file (choose another name)")
    if os.path.lexists(dest + ".wal"):
        raise StoreError(f"{dest}.wal exists: DuckDB would read it into the backup")
    if dest in (os.path.abspath(database), os.path.abspath(database) + ".wal"):
        raise StoreError(f"{dest} is the database's own file")
    if not os.path.isdir(os.path.dirname(dest)):
        raise StoreError(f"cannot write {dest}: there is no directory {os.path.dirname(dest)}")


@contextmanager
def new_file(dest: str) -> Iterator[int]:
    """A descriptor to write the new file through: a hidden file beside ``dest`` (mode 0600),
    which becomes ``dest`` once the block ends without an exception (fsynced, linked, never
    replacing a file that appeared meanwhile), and is removed otherwise."""
    directory, name = os.path.split(dest)
    try:
        fd, partial = tempfile.mkstemp(prefix=f".{name}.", suffix=".partial", dir=directory)
    except OSError as exc:
        raise StoreError(
            f"cannot create {dest}: {exc.strerror} (it is written by user {user()}, the"
            " process that holds the database)"
        ) from None
    try:
        yield fd
        try:
            os.fsync(fd)
            _link(partial, dest)
        except OSError as exc:
            raise StoreError(f"cannot write {dest}: {exc.strerror}") from None
    finally:
        os.close(fd)
        try:
            os.unlink(partial)
        except FileNotFoundError:
            pass
    _fsync_directory(directory)


def _link(partial: str, dest: str) -> None:
    try:
        os.link(partial, dest)  # fails if dest exists, where a rename would replace it
    except FileExistsError:
        raise StoreError(f"{dest} exists already: a backup is a new file") from None
    except OSError:  # a file system without hard links
        if os.path.lexists(dest):
            raise StoreError(f"{dest} exists already: a backup is a new file") from None
        os.rename(partial, dest)


def copy_file(src: str, fd: int) -> None:
    """Copy the file ``src`` into the descriptor ``fd``, in a child process (see the module's
    docstring)."""
    try:
        subprocess.run(
            [sys.executable, "-I", "-S", "-c", _COPY, src],
            stdout=fd,
            stderr=subprocess.PIPE,
            check=True,
        )
    except subprocess.CalledProcessError as exc:
        lines = exc.stderr.decode(errors="replace").strip().splitlines() or ["no message"]
        raise StoreError(f"copying {src} failed: {lines[-1]}") from None
    except OSError as exc:
        raise StoreError(f"copying {src} failed: {exc.strerror}") from None


def require_no_log(path: str) -> None:
    """StoreError if a write-ahead log holds transactions the file itself does not."""
    try:
        size = os.path.getsize(path + ".wal")
    except FileNotFoundError:
        return
    if size:
        raise StoreError(
            f"{path}.wal holds transactions that are not in {path} yet: open the database with"
            " footfall once (e.g. `footfall apps list --db` it), or copy it with `footfall backup`"
        )


@contextmanager
def read_only(path: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """The file attached read-only as ``src``, in a DuckDB of its own."""
    con = duckdb.connect(":memory:", config=_READ_ONLY)
    try:
        con.execute("ATTACH ? AS src (READ_ONLY)", [path])
    except duckdb.Error as exc:
        con.close()
        message = str(exc).splitlines()[0]
        if "lock" in message.lower():
            raise StoreBusy(f"{path} is in use by another process: {message}") from None
        raise StoreError(f"{path} is not a DuckDB database footfall can open: {message}") from None
    try:
        yield con
    finally:
        con.close()


def inspect(path: str) -> BackupInfo:
    """What the footfall database at ``path`` holds; StoreError if it is not one."""
    with read_only(path) as con:
        found: dict[str, set[str]] = {}
        for table, column in con.execute(
            "SELECT table_name, column_name FROM duckdb_columns()"
            " WHERE database_name = 'src' AND schema_name = 'main'"
        ).fetchall():
            found.setdefault(table, set()).add(column)
        for table, columns in REQUIRED.items():
            if table not in found:
                raise StoreError(f"{path} is not a footfall database: it has no {table} table")
            if missing := sorted(columns - found[table]):
                raise StoreError(
                    f"{path} is not a footfall database: its {table} table has no"
                    f" {', '.join(missing)}"
                )
        apps = con.execute("SELECT count(*) FROM src.main.apps").fetchall()[0][0]
        events = con.execute("SELECT count(*) FROM src.main.events").fetchall()[0][0]
    return BackupInfo(path, os.path.getsize(path), int(apps), int(events))


def loaded(path: str, names: Sequence[str]) -> set[str]:
    """Which spool segments (by name) the footfall database at ``path`` has stored."""
    with read_only(path) as con:
        tables = con.execute(
            "SELECT 1 FROM duckdb_tables() WHERE database_name = 'src'"
            " AND schema_name = 'main' AND table_name = 'loaded_batches'"
        ).fetchall()
        if not tables or not names:
            return set()
        rows = con.execute(
            "SELECT name FROM src.main.loaded_batches WHERE name IN (SELECT unnest(?))",
            [list(names)],
        ).fetchall()
    return {name for (name,) in rows}


def replace(src: str, target: str) -> None:
    """Make ``target`` a copy of ``src``, atomically: the copy is written beside it (mode 0600),
    fsynced, the target's write-ahead log removed (it belongs to the file being replaced) and the
    copy renamed over the target. Run as root, the new file gets the owner and group of the file
    it replaces, or of its directory when there was none, so the service can open it."""
    directory, name = os.path.split(target)
    try:
        owner = os.stat(target if os.path.exists(target) else directory)
        fd, temp = tempfile.mkstemp(prefix=f".{name}.", suffix=".restoring", dir=directory)
    except OSError as exc:
        raise StoreError(f"cannot write {target}: {exc.strerror}") from None
    try:
        copy_file(src, fd)
        os.fsync(fd)
        if os.geteuid() == 0:
            os.fchown(fd, owner.st_uid, owner.st_gid)
        try:
            os.unlink(target + ".wal")
        except FileNotFoundError:
            pass
        os.replace(temp, target)
    except OSError as exc:
        raise StoreError(f"cannot write {target}: {exc.strerror}") from None
    finally:
        os.close(fd)
        try:
            os.unlink(temp)  # gone once renamed
        except FileNotFoundError:
            pass
    _fsync_directory(directory)


def _fsync_directory(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
