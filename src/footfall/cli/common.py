"""Shared pieces of the CLI: options built from footfall.settings, durations, opening the store."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
from collections.abc import Callable
from typing import Any

import click

from footfall.apps import AppRegistry
from footfall.clock import SystemClock
from footfall.settings import SETTINGS, SETTINGS_BY_NAME, Config, Setting
from footfall.store.base import Store, StoreBusy, StoreError, open_store
from footfall.store.remote import RemoteStore, open_remote, socket_path

_DURATION = re.compile(r"(\d+)\s*(h|d|w|m|y)")
_UNIT_MS = {
    "h": 3_600_000,
    "d": 86_400_000,
    "w": 7 * 86_400_000,
    "m": 30 * 86_400_000,
    "y": 365 * 86_400_000,
}


def command_name(argv0: str | None = None) -> str:
    """How to run this footfall again, as a shell in the same directory takes it, for the commands
    footfall prints: ``footfall`` when that is the one on PATH, else the path it was started by
    (``.venv/bin/footfall`` under `make run`), else ``python -m footfall`` with this interpreter."""
    argv0 = sys.argv[0] if argv0 is None else argv0
    if os.path.basename(argv0) == "footfall":
        on_path = shutil.which("footfall")
        if on_path and os.path.realpath(on_path) == os.path.realpath(argv0):
            return "footfall"
        if os.sep in argv0:
            return shlex.quote(argv0)
    return f"{shlex.quote(sys.executable)} -m footfall"


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
spool_dir_option = _option(SETTINGS_BY_NAME["spool_dir"])


def config_from(values: dict[str, Any]) -> Config:
    known = {s.name for s in SETTINGS}
    return Config(**{k: v for k, v in values.items() if k in known})


def require_database(db: str) -> None:
    """A ClickException when ``db`` names a DuckDB file that is not there: only `serve`,
    `quickstart`, `apps create` and `restore` make one, so a mistyped --db is never a new, empty
    database."""
    if socket_path(db) is not None and not os.path.exists(db):
        raise click.ClickException(
            f"there is no database at {os.path.abspath(db)}: check --db (or FOOTFALL_DB);"
            " `footfall serve`, `footfall quickstart` or `footfall apps create` makes a new one"
        )


def open_cli_store(db: str, store: str = "", *, create: bool = False) -> Store:
    """The store at ``db``, or, while a server holds that file, the server's store through its
    socket (footfall.store.remote). A DuckDB file that is not there is made only with ``create``."""
    if not create:
        require_database(db)
    try:
        return open_store(db, store or None)
    except StoreBusy as exc:
        path = socket_path(db)
        if path is None or not path.exists():
            raise click.ClickException(
                f"{exc}, and no footfall server answers commands at {path or 'its socket'}:"
                " stop that process first, or use the server's HTTP API"
            ) from None
        try:
            return open_remote(path)
        except StoreError as remote:
            raise click.ClickException(f"{exc} ({remote})") from None
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None


def is_remote(store: Store) -> bool:
    """The store is a running server's (writes of hits go around the command's own feed)."""
    return isinstance(store, RemoteStore)


def open_registry(db: str, store: str = "", *, create: bool = False) -> AppRegistry:
    return AppRegistry(open_cli_store(db, store, create=create), SystemClock())


def find_app(registry: AppRegistry, key: str) -> Any:
    app = registry.resolve(key)
    if app is None:
        raise click.ClickException(f"no app {key!r} (see `footfall apps list`)")
    return app
