"""The Store interface every backend implements, and the registry that opens one by name."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from footfall.model import ApiKey, App, Funnel, Goal, Invite, LoginSession, User

if TYPE_CHECKING:
    import pyarrow as pa


# a statement's values: positional (``?``) or by name (``$name``)
Params = Sequence[Any] | Mapping[str, Any]
Step = tuple[str, Params]


class StoreError(Exception):
    """A storage problem with a message fit for a user."""


class StoreBusy(StoreError):
    """The database is held by another process (DuckDB allows one writer process)."""


class StoreOutOfMemory(StoreError):
    """A read needed more memory than the store may use (``--db-memory``). Nothing is damaged; the
    same question over less data, or with a higher limit, can be answered."""


@dataclass(frozen=True)
class BackupInfo:
    """What ``Store.backup`` copied, read back from the copy itself."""

    path: str  # the new file, absolute
    bytes: int
    apps: int
    events: int
    paused_s: float = 0.0  # how long writes waited for the copy


@runtime_checkable
class Store(Protocol):
    """What a backend must do; ``tests/store/test_contract.py`` checks every registered backend
    against it. SQL reaches a store only from footfall.query, with every value bound."""

    backend: str  # registry name, e.g. "duckdb"
    dialect: str  # SQL dialect for footfall.query, e.g. "duckdb", "clickhouse"
    generation: int  # grows with every write() and delete_app(): readers caching derived state

    def ping(self) -> bool: ...
    def close(self) -> None: ...
    def reopen(self) -> None:
        """Connect again after a fault left the connection unusable (the spool's writer calls
        it when a write failed and ``ping`` fails too). StoreError while the fault lasts."""
        ...

    def settle(self) -> None:
        """Move what recent writes hold in memory to the file, if the backend keeps any there
        (DuckDB: appended rows until a checkpoint). Best effort: skipped when busy."""
        ...

    def backup(self, dest: str) -> BackupInfo:
        """A consistent copy of everything committed, as a new file at ``dest`` (an absolute
        path that must not exist yet), made by the process that holds the store: it writes as
        that process's user. StoreError, saying why, when it cannot be made."""
        ...

    # events
    def append_hits(
        self,
        rows: Sequence[tuple[object, ...]],
        *,
        fold_seq: int | None = None,
        batch: str | None = None,
    ) -> int:
        """Append hits given as tuples in EVENT_COLUMNS order, in one transaction (the spool's
        writer). ``batch`` names them (a spool segment): recorded in the same transaction, and a
        name recorded before makes the whole append fail, so a batch is never stored twice."""
        ...

    def loaded_batches(self, names: Sequence[str]) -> set[str]:
        """Which of these batch names ``append_hits`` recorded."""
        ...

    def forget_loaded_batches(self, age_ms: int) -> int:
        """Drop the records of batches stored more than ``age_ms`` ago, by the store's own clock
        (their segments are long gone); returns how many."""
        ...

    def insert_events(self, batch: pa.Table, *, fold_seq: int | None = None) -> int:
        """Append hits; ``fold_seq`` numbers the write for the rollup feed, which folds the
        rows of writes it numbered straight from the events table (None: not fed)."""
        ...

    def count_events(self, app_id: str | None = None) -> int: ...
    def delete_events(self, app_id: str, before_ms: int | None = None) -> int: ...
    def existing_hit_ids(
        self, app_id: str, hit_ids: Sequence[str], since_ms: int, until_ms: int
    ) -> set[str]:
        """Which of ``hit_ids`` are stored for the app with ``since_ms <= ts <= until_ms``
        (imports use it to stay idempotent; the time range lets a backend skip old data)."""
        ...

    # apps
    def create_app(self, app: App) -> None: ...  # StoreError if the id is taken
    def save_app(self, app: App) -> None: ...
    def get_app(self, app_id: str) -> App | None: ...
    def list_apps(self) -> list[App]: ...
    def delete_app(self, app_id: str) -> bool: ...

    # an app's goals and funnels, each unique by name within the app (footfall.goals checks them)
    def create_goal(self, goal: Goal) -> None: ...  # StoreError if the app has one of that name
    def list_goals(self, app_id: str) -> list[Goal]: ...  # in the order they were made
    def delete_goal(self, app_id: str, goal_id: str) -> bool: ...
    def create_funnel(self, funnel: Funnel) -> None: ...  # StoreError likewise
    def list_funnels(self, app_id: str) -> list[Funnel]: ...
    def delete_funnel(self, app_id: str, funnel_id: str) -> bool: ...

    # dashboard accounts: users and their login sessions
    def create_user(self, user: User) -> None: ...  # StoreError if the email is taken
    def save_user(self, user: User) -> None: ...
    def get_user(self, user_id: str) -> User | None: ...
    def get_user_by_email(self, email: str) -> User | None: ...
    def list_users(self) -> list[User]: ...
    def delete_user(self, user_id: str) -> bool: ...  # and its login sessions, recovery codes
    def create_login_session(self, session: LoginSession) -> None: ...
    def get_login_session(self, key: str) -> LoginSession | None: ...
    def delete_login_session(self, key: str) -> None: ...
    def delete_expired_login_sessions(self, now_ms: int) -> int: ...
    def end_login_sessions(self, user_id: str, keep: str | None = None) -> int:
        """End every login session of the user but the one whose key is ``keep``; how many."""
        ...

    # invitations: found by the SHA-256 of the link's token (``key``), only until they expire
    def create_invite(self, invite: Invite) -> None: ...  # replaces one of the same email
    def list_invites(self, now_ms: int) -> list[Invite]: ...  # unexpired, oldest first
    def get_invite(self, key: str, now_ms: int) -> Invite | None: ...
    def take_invite(self, key: str, now_ms: int) -> Invite | None:
        """Remove and return the unexpired invitation: one caller gets it, once."""
        ...

    def delete_invite(self, invite_id: str) -> bool: ...
    def delete_expired_invites(self, now_ms: int) -> int: ...

    # two-factor recovery codes, by their SHA-256, each usable once
    def set_recovery_codes(self, user_id: str, hashes: Sequence[str]) -> None: ...  # replaces
    def use_recovery_code(self, user_id: str, code_hash: str) -> bool:
        """Remove the code and say whether it was there: true once per code."""
        ...

    def count_recovery_codes(self, user_id: str) -> int: ...

    # Stats API keys (only the SHA-256 of a key is stored)
    def create_api_key(self, key: ApiKey, key_hash: str) -> None: ...
    def list_api_keys(self) -> list[ApiKey]: ...
    def find_api_key(self, key_hash: str) -> ApiKey | None: ...
    def revoke_api_key(self, key_id: str, when_ms: int) -> bool: ...

    # daily salts of cookieless identity, by UTC day number (days since 1970-01-01)
    def load_salts(self, since_day: int) -> dict[int, bytes]: ...
    def save_salt(self, day: int, salt: bytes, created: int) -> None: ...
    def delete_salts(self, before_day: int) -> int: ...

    # derived tables (footfall.store.rollups): statements in one transaction
    def write(
        self,
        steps: Sequence[Step],
        tables: dict[str, pa.Table] | None = None,
        *,
        threads: int | None = None,
    ) -> list[list[tuple[Any, ...]]]:
        """Run ``steps`` (SQL, params) in one transaction, the Arrow ``tables`` readable by name;
        each step's rows. All or nothing: a failing step leaves none of them applied."""
        ...

    # read-only SQL for footfall.query: values are always bound, never formatted in
    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...
    def answer(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """A read someone waits for (the query engine's): ``fetch``, but a backend with a
        resting memory limit lets it use the most it may from the start."""
        ...

    def fetch_arrow(self, sql: str, params: Sequence[Any] = ()) -> pa.Table:
        """A read as an Arrow table (exports), with the resources of ``answer``."""
        ...


# name -> "module:factory"; factories take the location (path or URL) and keyword options
_BACKENDS: dict[str, str] = {
    "duckdb": "footfall.store.duckdb:DuckDBStore",
}


def register_backend(name: str, target: str) -> None:
    """Register a backend as ``"package.module:Factory"`` (imported only when used)."""
    _BACKENDS[name] = target


def backend_names() -> list[str]:
    return sorted(_BACKENDS)


def _factory(name: str) -> Callable[..., Store]:
    try:
        target = _BACKENDS[name]
    except KeyError:
        raise StoreError(
            f"unknown store backend {name!r}; choose one of {', '.join(backend_names())}"
        ) from None
    module_name, _, attr = target.partition(":")
    factory: Callable[..., Store] = getattr(importlib.import_module(module_name), attr)
    return factory


def open_store(location: str, backend: str | None = None, **options: Any) -> Store:
    """Open a store. ``backend`` defaults from the location: a ``NAME://…`` URL names a registered
    backend; anything else is a DuckDB file path."""
    if backend is None:
        backend = location.split("://", 1)[0] if "://" in location else "duckdb"
    return _factory(backend)(location, **options)
