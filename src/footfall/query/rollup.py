"""Rollups: derived tables that answer the dashboard's questions without scanning raw hits.

Kept up to date incrementally: :meth:`Rollups.apply_stored` folds written hits in, read back from
the events table (the rollup feed, footfall.query.feed), :meth:`Rollups.apply` folds a batch held
as an Arrow table (imports, bulk loads), and compaction runs in the background
(footfall.query.rollup_upkeep).

- ``sessions``: one row per session, merged batch by batch: start, end, pageviews, hits, the first
  hit's visit attributes (``v_<dimension>``), entry and exit page. Exact.
- ``rollup_hits``: per app, local day, dimension and value: pageviews and events (deltas, summed).
  Exact. Dimensions: the total, event:page (pageviews), event:name, event:hostname and the
  first-hit visit attributes (hits counted under their session's value).
- ``rollup_sessions``: per app, local start day, dimension and value: visits, bounces, total
  duration and pageviews of the sessions that started that day, as signed deltas (a session a
  batch extends is counted out in its old form and in again in its new one; summed). Exact.
- ``rollup_hll``: unique-visitor sketches (HyperLogLog registers, one row per set register) per app,
  unit (local day, ISO week, month), dimension and value; merged with ``max``. Estimates.
- ``rollup_dirty``: what compaction still has to do: days with duplicate rows (``d``), week and
  month sketches that are stale (``w``, ``m``: not used by queries until rebuilt, which happens once
  the week or month is over), a whole rebuild (``x``); ``rollup_state``: the time zone of the days.

Bots are left out of every rollup; sessions keep them (``bot`` column) for the raw path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

from footfall.clock import Clock, SystemClock
from footfall.query.periods import Window, as_utc
from footfall.query.rollup_schema import (
    DDL,
    DELTA_REACH_MS,
    FIRST_HIT_DIMS,
    FOLD_COLUMNS,
    FOLD_THREADS,
    HIT_DIMS,
    P_DIM,
    P_TOTAL,
    SKETCH_VISIT_DIMS,
    TOTAL,
    VISIT_DIMS,
    Span,
    dim_pair,
    hll_register,
    hll_rho,
    or_none,
    visit_column,
)
from footfall.query.rollup_upkeep import RollupUpkeep, Steps, rebuild_mark
from footfall.query.sql import SESSION_HORIZON_MS, Builder

if TYPE_CHECKING:
    import pyarrow as pa

    from footfall.store.base import Store

# ``rid``: a hit's row id, which a fold's grouping by session keeps instead of the first hit's values
_FOLD_SELECT = f"rowid AS rid, {', '.join(FOLD_COLUMNS)} FROM events"
# the rows of the writes a stored fold reads (apply_stored sets the variables, bound values)
_STORED_VIEW = (
    f"CREATE OR REPLACE TEMP VIEW _rb AS SELECT {_FOLD_SELECT}"
    " WHERE app_id = getvariable('footfall_fold_app')"
    " AND fold_seq > getvariable('footfall_fold_after')"
    " AND fold_seq <= getvariable('footfall_fold_through')"
)

# an Arrow batch's rows, numbered (a registered Arrow table has no row ids)
_ARROW_COPY: Steps = [
    (
        f"CREATE TEMP TABLE _rb AS SELECT row_number() OVER () AS rid, {', '.join(FOLD_COLUMNS)}"
        " FROM _rb_in",
        [],
    )
]

log = logging.getLogger("footfall.rollup")


class Rollups(RollupUpkeep):
    """Rollup upkeep for a DuckDB store. ``tz_of(app_id)`` gives an app's time zone."""

    def __init__(
        self,
        store: Store,
        tz_of: Callable[[str], str | None],
        *,
        create: bool = True,
        clock: Clock | None = None,
    ) -> None:
        self.store = store
        self.tz_of = tz_of
        self.clock = clock or SystemClock()
        self.sql = Builder(store.dialect)
        self.enabled = store.dialect == "duckdb"  # the rollup SQL is written for DuckDB
        if self.enabled and create:
            store.write([(ddl, []) for ddl in DDL])
        elif self.enabled:  # a reader: rollups only if some writer created them
            found = store.fetch(
                "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'rollup_state'"
            )
            self.enabled = bool(found and found[0][0])

    # -- helpers ----------------------------------------------------------------------------
    def _local_day(
        self, column: str, tz: str, first_ms: int, last_ms: int
    ) -> tuple[str, list[Any]]:
        w = Window(first_ms, last_ms + 1, None, None, tz)
        local = self.sql.local_time(column, w)
        return f"CAST({local.text} AS DATE)", local.params

    def state(self) -> dict[str, str]:
        if not self.enabled:
            return {}
        return dict(self.store.fetch("SELECT app_id, tz FROM rollup_state"))

    def dirty_days(self, app_id: str) -> set[tuple[str, date] | None]:
        """Stale week/month units as (unit, first day); ``None`` when a rebuild is pending."""
        rows = self.store.fetch(
            "SELECT DISTINCT unit, day FROM rollup_dirty WHERE app_id = ? AND unit <> 'd'",
            [app_id],
        )
        return {None if unit == "x" else (unit, day) for unit, day in rows}

    # -- incremental upkeep -----------------------------------------------------------------
    def apply(self, batch: pa.Table, *, trusted: bool = False) -> None:
        """Fold a written batch of hits into every rollup, app by app. ``trusted``: a rebuild's
        own chunk (no check for hits that predate the rollups)."""
        if not self.enabled or batch.num_rows == 0:
            return
        import pyarrow as pa
        import pyarrow.compute as pc

        apps = pc.unique(batch.column("app_id")).to_pylist()
        for app_id in apps:
            if app_id is None:
                continue
            # one app (the usual batch): no filtered copy of the whole batch
            part = batch if apps == [app_id] else batch.filter(pc.equal(batch["app_id"], app_id))
            ts = part.column("ts").cast(pa.timestamp("ms")).cast(pa.int64())
            first, last = pc.min(ts).as_py(), pc.max(ts).as_py()
            if first is None or last is None:
                continue
            span = Span(int(first), int(last))
            try:
                self._apply_app(
                    app_id, _ARROW_COPY, {"_rb_in": part}, part.num_rows, span, trusted, []
                )
            except Exception:  # never leave the rollups silently short: rebuild from raw
                self.store.write([rebuild_mark(app_id)])
                raise

    def apply_stored(self, app_id: str, after: int, through: int, done: Steps) -> int:
        """Fold an app's hits of the writes numbered ``after < fold_seq <= through`` into the
        rollups, reading them from the events table; ``done`` (e.g. the feed's bookmark) runs in
        the same transaction whatever the fold decides. Returns the hits read.

        ``_rb`` is a view of those rows, not a copy: its bounds are session variables, which
        DuckDB folds into constants and pushes into the scan (only the recent row groups are
        read), so the fold does not hold a second copy of the batch (~20 MB at 50,000 hits)."""
        view: Steps = [
            ("SET VARIABLE footfall_fold_app = ?", [app_id]),
            ("SET VARIABLE footfall_fold_after = ?", [after]),
            ("SET VARIABLE footfall_fold_through = ?", [through]),
            (_STORED_VIEW, []),
        ]
        where = "fold_seq > ? AND fold_seq <= ?"
        done = [*done, ("DROP VIEW IF EXISTS _rb", [])]  # (temporary tables go after a write)
        # an app's first fold: its hits written later are for later folds, not from before
        earlier = ("fold_seq IS NULL OR fold_seq <= ?", [after])
        return self._fold_events(
            app_id, where, [after, through], trusted=False, done=done, source=view, earlier=earlier
        )

    def _fold_events(
        self,
        app_id: str,
        where: str,
        params: list[Any],
        *,
        trusted: bool,
        done: Steps,
        source: Steps | None = None,
        earlier: tuple[str, list[Any]] | None = None,
    ) -> int:
        """Fold an app's stored hits matching ``where`` (SQL from this module, values bound).
        ``source`` provides ``_rb`` (default: a copy of those rows, columns the rollups read
        only, made inside the fold's transaction); ``earlier`` matches the app's hits stored
        before these (default: every other hit)."""
        where, params = f"app_id = ? AND {where}", [app_id, *params]
        try:
            first, last, rows = self.store.fetch(
                f"SELECT epoch_ms(min(ts)), epoch_ms(max(ts)), count(*) FROM events WHERE {where}",
                params,
            )[0]
            if not rows or not self.enabled:
                if done:
                    self.store.write(done)
                return 0
            if source is None:
                source = [(f"CREATE TEMP TABLE _rb AS SELECT {_FOLD_SELECT} WHERE {where}", params)]
            span = Span(int(first), int(last))
            self._apply_app(app_id, source, {}, int(rows), span, trusted, done, earlier)
        except Exception:  # never leave the rollups silently short: rebuild from raw
            self.store.write([rebuild_mark(app_id), *done])
            raise
        return int(rows)

    def _apply_app(
        self,
        app_id: str,
        source: Steps,
        tables: dict[str, pa.Table],
        rows: int,
        span: Span,
        trusted: bool,
        done: Steps,
        earlier: tuple[str, list[Any]] | None = None,
    ) -> None:
        """One app's fold in one transaction: ``source`` steps and ``tables`` provide ``_rb``
        (its hits); ``done`` runs in the transaction of every outcome but an exception (the
        caller's to handle). An app's first fold rebuilds instead when hits of it were stored
        before these (``earlier``, default: any hit but these)."""
        rebuild = [rebuild_mark(app_id), *done]
        tz = self.tz_of(app_id) or "UTC"
        state = self.state().get(app_id)
        if state is not None and state != tz:
            # local days moved: the rollups of this app are rebuilt whole by compact()
            self.store.write(rebuild)
            return
        if state is None and not trusted:
            if earlier is None:
                predate = self.store.count_events(app_id) > rows
            else:
                sql = f"SELECT count(*) > 0 FROM events WHERE app_id = ? AND ({earlier[0]})"
                predate = bool(self.store.fetch(sql, [app_id, *earlier[1]])[0][0])
            if predate:  # hits from before the rollups: rebuild from raw first
                self.store.write(rebuild)
                return
        steps: Steps = [*source, *self.session_steps(app_id, span)]
        steps += self.session_delta_steps(app_id, tz, span)
        steps += self.hit_steps(app_id, tz, span)
        if state is None:
            steps.append(("INSERT OR REPLACE INTO rollup_state VALUES (?, ?)", [app_id, tz]))
        steps += done
        steps.append(("SELECT epoch_ms(min(started)) FROM _rb_old", []))
        result = self.store.write(steps, tables, threads=FOLD_THREADS)
        oldest = result[-1][0][0] if result[-1] else None
        if oldest is not None and oldest < span.first_ms - SESSION_HORIZON_MS - DELTA_REACH_MS:
            # a session older than the local-day offsets reach: count its days again from raw
            self.store.write([rebuild_mark(app_id)])

    def _batch_sessions(self) -> str:
        """The batch's hits grouped by session: what each session gained in this batch.

        The grouping keeps small values per session (times, counts, the entry and exit page and
        the ``rid`` of its first hit); the first hit's visit attributes come from a join on that
        ``rid``. Carrying those ~20 values through the grouping (an ``arg_min`` over a struct of
        them) held them all in its hash table: +48 MB against +15 MB for 50,000 new sessions,
        and twice the time (docs/benchmarks.md)."""
        firsts = {"visitor_id": "h.visitor_id", "bot": "h.bot"}
        firsts |= {
            visit_column(d.short): self.sql.d.text.format(x=f"h.{d.column}") for d in FIRST_HIT_DIMS
        }
        picked = ", ".join(f"{expr} AS {name}" for name, expr in firsts.items())
        return (
            f"SELECT n.*, {picked} FROM ("
            "SELECT session_id, min(ts) AS started,"
            " max(ts) AS ended, count(*) FILTER (WHERE event = 'pageview') AS s_pageviews,"
            " count(*) AS s_hits,"
            " arg_min(path, ts) FILTER (WHERE event = 'pageview') AS v_entry_page,"
            " min(ts) FILTER (WHERE event = 'pageview') AS entry_ts,"
            " arg_max(path, ts) FILTER (WHERE event = 'pageview') AS v_exit_page,"
            " max(ts) FILTER (WHERE event = 'pageview') AS exit_ts, "
            + self.sql.d.first.format(x="rid")
            + " AS first_rid FROM _rb WHERE session_id IS NOT NULL GROUP BY session_id) n"
            " JOIN _rb h ON h.rid = n.first_rid"
        )

    @staticmethod
    def _merged(app_id: str, span: Span) -> tuple[str, list[Any]]:
        """A ``WITH`` clause naming ``_rb_m``: the batch's sessions as merged by
        :meth:`session_steps`. Every merged session ended at or after the batch's first hit, and
        older rows of the same ids are gone, so this reads only the rows the fold just wrote."""
        return (
            "WITH _rb_m AS (SELECT * FROM sessions WHERE app_id = ? AND ended >= ?"
            " AND session_id IN (SELECT session_id FROM _rb)) ",
            [app_id, as_utc(span.first_ms)],
        )

    def session_steps(self, app_id: str, span: Span) -> list[tuple[str, list[Any]]]:
        """Merge the batch's sessions into ``sessions`` (new ones inserted, old ones extended).

        Only ``_rb_old`` (the earlier rows of the batch's sessions, needed after they are
        deleted) is a temporary table: a transaction's temporary tables stay in memory until it
        commits, so the rest is read where it is (``_rb`` and ``sessions``)."""
        horizon = as_utc(span.first_ms - SESSION_HORIZON_MS)
        old = (
            "CREATE OR REPLACE TEMP TABLE _rb_old AS SELECT * FROM sessions WHERE app_id = ?"
            " AND ended >= ? AND session_id IN (SELECT session_id FROM _rb)"
        )
        delete = (
            "DELETE FROM sessions WHERE app_id = ? AND ended >= ?"
            " AND session_id IN (SELECT session_id FROM _rb_old)"
        )
        newer = "(o.session_id IS NULL OR n.started < o.started)"
        keep = ", ".join(
            f"CASE WHEN {newer} THEN n.{visit_column(d.short)} ELSE o.{visit_column(d.short)} END"
            for d in FIRST_HIT_DIMS
        )
        merged = (
            "INSERT INTO sessions SELECT ?, n.session_id,"
            f" CASE WHEN {newer} THEN n.visitor_id ELSE o.visitor_id END,"
            f" hash(CASE WHEN {newer} THEN n.visitor_id ELSE o.visitor_id END),"
            " least(n.started, coalesce(o.started, n.started)),"
            " greatest(n.ended, coalesce(o.ended, n.ended)),"
            " n.s_pageviews + coalesce(o.s_pageviews, 0), n.s_hits + coalesce(o.s_hits, 0),"
            f" CASE WHEN {newer} THEN n.bot ELSE o.bot END,"
            " CASE WHEN o.entry_ts IS NULL OR n.entry_ts < o.entry_ts THEN n.v_entry_page"
            " ELSE o.v_entry_page END, least(n.entry_ts, coalesce(o.entry_ts, n.entry_ts)),"
            " CASE WHEN o.exit_ts IS NULL OR n.exit_ts >= o.exit_ts THEN n.v_exit_page"
            " ELSE o.v_exit_page END, greatest(n.exit_ts, coalesce(o.exit_ts, n.exit_ts)), "
            + keep
            + f" FROM ({self._batch_sessions()}) n LEFT JOIN _rb_old o ON o.session_id = n.session_id"
        )
        return [
            (old, [app_id, horizon]),
            (delete, [app_id, horizon]),
            (merged, [app_id]),
        ]

    def session_delta_steps(self, app_id: str, tz: str, span: Span) -> list[tuple[str, list[Any]]]:
        """``rollup_sessions`` deltas of the sessions the batch touched: each merged session
        counted in, its earlier version (if any) counted out, so a fold costs in proportion to
        the batch, not to the sessions already stored that day. Compaction merges the rows."""
        lo = span.first_ms - SESSION_HORIZON_MS - DELTA_REACH_MS
        day, params = self._local_day("started", tz, lo, span.last_ms)
        human = "coalesce(bot, '') = ''"
        with_m, m_params = self._merged(app_id, span)
        columns = ", ".join(
            [
                "bot",
                "started",
                "ended",
                "s_pageviews",
                "s_hits",
                *(visit_column(d.short) for d in VISIT_DIMS),
            ]
        )
        signed = (
            with_m + f", _rb_sd AS (SELECT 1 AS sign, {day} AS day, {columns} FROM _rb_m"
            f" WHERE {human} UNION ALL SELECT -1, {day}, {columns} FROM _rb_old WHERE {human}) "
        )
        signed_params = [*m_params, *params, *params]
        # one grouping over (day, dimension, value) pairs: a statement of one aggregate per
        # dimension held every aggregate's table at once (~100 MB more on 50,000 sessions)
        pairs = [dim_pair(TOTAL, "''")] + [
            dim_pair(d.name, or_none(visit_column(d.short))) for d in VISIT_DIMS
        ]
        deltas = (
            "INSERT INTO rollup_sessions " + signed + "SELECT ?, day, u.dim, u.value, sum(sign),"
            " coalesce(sum(sign) FILTER (WHERE s_pageviews = 1 AND s_hits = 1), 0),"
            " sum(sign * epoch(ended - started)), sum(sign * s_pageviews) FROM ("
            "SELECT day, sign, started, ended, s_pageviews, s_hits,"
            f" unnest([{', '.join(pairs)}]) AS u FROM _rb_sd) GROUP BY day, u.dim, u.value"
        )
        dirty = "INSERT INTO rollup_dirty " + signed + "SELECT DISTINCT ?, 'd', day FROM _rb_sd"
        return [(deltas, [*signed_params, app_id]), (dirty, [*signed_params, app_id])]

    def hit_steps(self, app_id: str, tz: str, span: Span) -> list[tuple[str, list[Any]]]:
        """Pageview/event deltas and visitor sketches of the batch's (non-bot) hits.

        A hit's visit attributes come from its session as merged by :meth:`session_steps`
        (``_rb_m`` holds exactly the batch's sessions): joining the batch against that, not
        against every recent row of ``sessions``, keeps a fold's memory and time in proportion
        to the batch."""
        day, day_params = self._local_day("h.ts", tz, span.first_ms, span.last_ms)
        with_m, m_params = self._merged(app_id, span)
        attrs = ", ".join(f"s.{visit_column(d.short)}" for d in SKETCH_VISIT_DIMS)
        hits = (
            f"CREATE OR REPLACE TEMP TABLE _rb_h AS {with_m}SELECT {day} AS day, h.event, h.path,"
            f" h.hostname, hash(h.visitor_id) AS vh, {attrs} FROM _rb h"
            " LEFT JOIN _rb_m s ON s.session_id = h.session_id WHERE coalesce(h.bot, '') = ''"
        )
        # every dimension counted and sketched per hit, as (dimension, value) pairs unnested
        # into one grouping (one aggregate per dimension held them all in memory at once)
        page = dim_pair("event:page", or_none("path"))
        pairs = [dim_pair(TOTAL, "''"), f"CASE WHEN event = 'pageview' THEN {page} END"]
        pairs += [
            dim_pair(name, or_none(col)) for name, col in HIT_DIMS.items() if name != "event:page"
        ]
        pairs += [dim_pair(d.name, or_none(visit_column(d.short))) for d in SKETCH_VISIT_DIMS]
        unnested = f"unnest([{', '.join(pairs)}]) AS u"
        deltas = (
            "INSERT INTO rollup_hits SELECT ?, day, u.dim, u.value,"
            " count(*) FILTER (WHERE event = 'pageview'), count(*) FROM ("
            f"SELECT day, event, {unnested} FROM _rb_h) WHERE u IS NOT NULL"
            " GROUP BY day, u.dim, u.value"
        )
        # a register and its rank at the total's precision and at the dimensions' one
        ranks = (
            f"{hll_register(P_TOTAL)} AS reg_t, {hll_rho(P_TOTAL)} AS rho_t,"
            f" {hll_register(P_DIM)} AS reg_d, {hll_rho(P_DIM)} AS rho_d"
        )
        sketch = (
            "INSERT INTO rollup_hll SELECT ?, 'd', day, u.dim, u.value,"
            f" CASE WHEN u.dim = '{TOTAL}' THEN reg_t ELSE reg_d END AS reg,"
            f" max(CASE WHEN u.dim = '{TOTAL}' THEN rho_t ELSE rho_d END) FROM ("
            f"SELECT day, {ranks}, {unnested} FROM _rb_h) WHERE u IS NOT NULL"
            " GROUP BY day, u.dim, u.value, reg"
        )
        dirty = (
            "INSERT INTO rollup_dirty SELECT DISTINCT ?, unit, day FROM (SELECT 'd' AS unit, day"
            " FROM _rb_h UNION SELECT 'w', CAST(date_trunc('week', day) AS DATE) FROM _rb_h"
            " UNION SELECT 'm', CAST(date_trunc('month', day) AS DATE) FROM _rb_h)"
        )
        return [
            (hits, [*m_params, *day_params]),
            (deltas, [app_id]),
            (sketch, [app_id]),
            (dirty, [app_id]),
        ]
