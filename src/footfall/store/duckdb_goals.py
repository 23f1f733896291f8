"""Goals and funnels in the DuckDB file: a mixin of :class:`footfall.store.duckdb.DuckDBStore`.

Two tables, each row one goal or funnel of an app, unique by ``(app_id, name)``; what a goal
matches (and a funnel's steps) is one JSON document, so new kinds of goals need no schema change.
Both tables have an ``app_id`` column, so deleting an app deletes them. They are created with
``IF NOT EXISTS`` whenever a file is opened for writing: a file made before goals existed gets
them the first time a server or a command opens it. A file opened read-only that predates them
has no goals (nothing to read).
"""

from __future__ import annotations

import threading
from typing import Any

import duckdb
import msgspec

from footfall.model import Funnel, FunnelStep, Goal
from footfall.store.base import StoreError

GOALS_DDL = (
    "CREATE TABLE IF NOT EXISTS goals (id VARCHAR PRIMARY KEY, app_id VARCHAR NOT NULL,"
    " name VARCHAR NOT NULL, definition VARCHAR NOT NULL, created BIGINT NOT NULL,"
    " UNIQUE (app_id, name))"
)
FUNNELS_DDL = (
    "CREATE TABLE IF NOT EXISTS funnels (id VARCHAR PRIMARY KEY, app_id VARCHAR NOT NULL,"
    " name VARCHAR NOT NULL, steps VARCHAR NOT NULL, created BIGINT NOT NULL,"
    " UNIQUE (app_id, name))"
)
_OWN_COLUMNS = {"id", "app_id", "name", "created"}  # the rest of a goal is `definition`
_STEPS = msgspec.json.Decoder(list[FunnelStep])


class DuckDBGoals:
    """Mixed into DuckDBStore, which provides the cursor and the write lock."""

    _write_lock: threading.Lock

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        raise NotImplementedError

    @staticmethod
    def _create_goal_tables(cur: duckdb.DuckDBPyConnection) -> None:
        cur.execute(GOALS_DDL)
        cur.execute(FUNNELS_DDL)

    def _rows(self, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
        try:
            return self._cursor().execute(sql, params).fetchall()
        except duckdb.CatalogException:  # a read-only file from before goals: it has none
            return []

    def _insert(self, sql: str, params: list[Any], what: str) -> None:
        with self._write_lock:
            try:
                self._cursor().execute(sql, params)
            except duckdb.ConstraintException:
                raise StoreError(f"this app has a {what} named {params[2]!r} already") from None

    def _delete(self, table: str, app_id: str, row_id: str) -> bool:
        assert table in ("goals", "funnels")
        with self._write_lock:
            gone = (
                self._cursor()
                .execute(
                    f"DELETE FROM {table} WHERE app_id = ? AND id = ? RETURNING id",  # noqa: S608
                    [app_id, row_id],
                )
                .fetchall()
            )
        return bool(gone)

    # -- goals ------------------------------------------------------------------------------
    def create_goal(self, goal: Goal) -> None:
        data = msgspec.to_builtins(goal)
        definition = {k: v for k, v in data.items() if k not in _OWN_COLUMNS}
        self._insert(
            "INSERT INTO goals (id, app_id, name, definition, created) VALUES (?, ?, ?, ?, ?)",
            [
                goal.id,
                goal.app_id,
                goal.name,
                msgspec.json.encode(definition).decode(),
                goal.created,
            ],
            "goal",
        )

    def list_goals(self, app_id: str) -> list[Goal]:
        rows = self._rows(
            "SELECT id, app_id, name, definition, created FROM goals WHERE app_id = ?"
            " ORDER BY created, name",
            [app_id],
        )
        return [
            msgspec.convert(
                {
                    **msgspec.json.decode(r[3]),
                    "id": r[0],
                    "app_id": r[1],
                    "name": r[2],
                    "created": r[4],
                },
                Goal,
            )
            for r in rows
        ]

    def delete_goal(self, app_id: str, goal_id: str) -> bool:
        return self._delete("goals", app_id, goal_id)

    # -- funnels ----------------------------------------------------------------------------
    def create_funnel(self, funnel: Funnel) -> None:
        self._insert(
            "INSERT INTO funnels (id, app_id, name, steps, created) VALUES (?, ?, ?, ?, ?)",
            [
                funnel.id,
                funnel.app_id,
                funnel.name,
                msgspec.json.encode(funnel.steps).decode(),
                funnel.created,
            ],
            "funnel",
        )

    def list_funnels(self, app_id: str) -> list[Funnel]:
        rows = self._rows(
            "SELECT id, app_id, name, steps, created FROM funnels WHERE app_id = ?"
            " ORDER BY created, name",
            [app_id],
        )
        return [
            Funnel(id=r[0], app_id=r[1], name=r[2], steps=_STEPS.decode(r[3]), created=r[4])
            for r in rows
        ]

    def delete_funnel(self, app_id: str, funnel_id: str) -> bool:
        return self._delete("funnels", app_id, funnel_id)
