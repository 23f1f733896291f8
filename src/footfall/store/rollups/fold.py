""":class:`Rollups`: folds hits into the rollup tables and keeps them compact.

A fold takes one app's batch (``_rb``, footfall.store.rollups.batch) through the table modules in
one transaction: sessions merged (sessions), their visit deltas (visit_counts), the hits with
their session's attributes (``_rb_h``), their counts (hit_counts) and sketches (sketches). A fold
that cannot be exact — the app's time zone changed, or hits of it predate its rollups — flags
the app for a rebuild from raw events instead, as does any failure: the rollups are never left
silently short. Compaction (:meth:`Rollups.compact`) runs from the server's upkeep job.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from footfall.clock import Clock, SystemClock
from footfall.query.periods import as_utc, zone
from footfall.query.sql import SESSION_HORIZON_MS
from footfall.store.rollups import batch, hit_counts, sessions, sketches, visit_counts
from footfall.store.rollups.bookkeeping import (
    DDL,
    DIRTY_APPS,
    STALE_UNITS,
    STATES,
    compact_steps,
    forget_steps,
    rebuild_mark,
    state_step,
)
from footfall.store.rollups.shape import (
    DELTA_REACH_MS,
    FOLD_THREADS,
    Span,
    Statement,
    Steps,
    offsets,
)

if TYPE_CHECKING:
    from footfall.store.base import Store

log = logging.getLogger("footfall.rollup")
TABLES_DDL = [sessions.DDL, hit_counts.DDL, visit_counts.DDL, sketches.DDL, *DDL]
_EXISTS = "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'rollup_state'"
_STORED_SPAN = (
    "SELECT epoch_ms(min(ts)), epoch_ms(max(ts)), count(*) FROM events"
    " WHERE app_id = ? AND fold_seq > ? AND fold_seq <= ?"
)
_RANGE_SPAN = (
    "SELECT epoch_ms(min(ts)), epoch_ms(max(ts)), count(*) FROM events"
    " WHERE app_id = ? AND ts >= ? AND ts < ?"
)
_APP_SPAN = "SELECT epoch_ms(min(ts)), epoch_ms(max(ts)) FROM events WHERE app_id = ?"
_EARLIER_STORED = (
    "SELECT count(*) > 0 FROM events WHERE app_id = ? AND (fold_seq IS NULL OR fold_seq <= ?)"
)
_OLDEST_MERGED = Statement("SELECT epoch_ms(min(started)) FROM _rb_old")
_FEED_EXISTS = "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'rollup_feed'"
# an app's hits written through the feed after its bookmark (footfall.store.rollups.feed): the
# bookmark and the hits read in one statement, so a fold committing meanwhile is seen whole or not
_UNFOLDED_SPAN = (
    "SELECT epoch_ms(min(ts)), epoch_ms(max(ts)) FROM events WHERE app_id = ? AND fold_seq >"
    " (SELECT coalesce(max(folded), 0) FROM rollup_feed WHERE app_id IN ('', ?))"
)


def _local(ms: int, z: Any) -> date:
    return datetime.fromtimestamp(ms / 1000, z).date()


class Rollups:
    """The rollups of a DuckDB store (other dialects have none: ``enabled`` is False).
    ``tz_of(app_id)`` gives an app's time zone; ``create=False`` opens them for reading only
    (enabled if some writer created them)."""

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
        self.enabled = store.dialect == "duckdb"  # the rollup SQL is written for DuckDB
        self._fed = False  # the feed's bookmarks table exists (seen once)
        if self.enabled and create:
            store.write([(ddl, []) for ddl in TABLES_DDL])
        elif self.enabled:
            found = store.fetch(_EXISTS)
            self.enabled = bool(found and found[0][0])

    def _tz(self, app_id: str) -> str:
        return self.tz_of(app_id) or "UTC"

    def state(self) -> dict[str, str]:
        """The time zone of each app the rollups hold."""
        return dict(self.store.fetch(STATES)) if self.enabled else {}

    def dirty_days(self, app_id: str) -> set[tuple[str, date] | None]:
        """Stale week/month units as (unit, first day); ``None`` when a rebuild is pending."""
        rows = self.store.fetch(STALE_UNITS, [app_id])
        return {None if unit == "x" else (unit, day) for unit, day in rows}

    def unfolded(self, app_id: str) -> tuple[int, int] | None:
        """(first, last) time in ms of the app's hits written through the feed but not folded in
        yet, or None when there are none (the rollups and the ``sessions`` table hold all its
        hits). For readers without the feed at hand: the CLI, while a server writes."""
        if not self.enabled:
            return None
        if not self._fed:
            self._fed = bool(self.store.fetch(_FEED_EXISTS)[0][0])
            if not self._fed:  # no feed ever wrote here
                return None
        first, last = self.store.fetch(_UNFOLDED_SPAN, [app_id, app_id])[0]
        return None if first is None else (int(first), int(last))

    def _written_before(self, app_id: str, after: int) -> bool:
        """Hits of the app stored before write ``after`` (or not numbered: imports)."""
        return bool(self.store.fetch(_EARLIER_STORED, [app_id, after])[0][0])

    # -- folds ------------------------------------------------------------------------------
    def apply_stored(self, app_id: str, after: int, through: int, done: Steps) -> int:
        """Fold an app's hits of the writes numbered ``after < fold_seq <= through`` in, read
        from the events table; ``done`` (the feed's bookmark) runs in the same transaction
        whatever the fold decides. Returns the hits read."""
        bounds = {"app": app_id, "after": after, "through": through}
        source = [s.bind(**bounds) for s in batch.STORED_VIEW]
        done = [*done, batch.DROP_VIEW.bind()]  # (temporary tables go after a write)
        try:
            first, last, rows = self.store.fetch(_STORED_SPAN, [app_id, after, through])[0]
            if not rows:
                self.store.write(done)
                return 0
            earlier = partial(self._written_before, app_id, after)
            self._fold(app_id, source, Span(int(first), int(last)), earlier, done)
        except Exception:
            self.store.write([rebuild_mark(app_id), *done])
            raise
        return int(rows)

    def _fold_range(self, app_id: str, since_ms: int, until_ms: int) -> int:
        """Fold an app's hits with ``since_ms <= ts < until_ms`` in (a rebuild's chunk)."""
        since, until = as_utc(since_ms), as_utc(until_ms)
        first, last, rows = self.store.fetch(_RANGE_SPAN, [app_id, since, until])[0]
        if not rows:
            return 0
        source = [batch.RANGE_COPY.bind(app=app_id, since=since, until=until)]
        try:
            self._fold(app_id, source, Span(int(first), int(last)), None, [])
        except Exception:
            self.store.write([rebuild_mark(app_id)])
            raise
        return int(rows)

    def _fold(
        self,
        app_id: str,
        source: Steps,
        span: Span,
        earlier: Callable[[], bool] | None,
        done: Steps,
    ) -> None:
        """One app's fold in one transaction: ``source`` provides ``_rb``;
        ``done`` runs in the transaction of every outcome but an exception (the caller's to
        handle). An app's first fold flags a rebuild instead when ``earlier()`` says hits of the
        app were stored before these (None: a rebuild's own chunk)."""
        tz = self._tz(app_id)
        state = self.state().get(app_id)
        if (state is not None and state != tz) or (state is None and earlier and earlier()):
            # local days moved, or hits from before the rollups: rebuild from raw (compact())
            self.store.write([rebuild_mark(app_id), *done])
            return
        hits_values = {"app": app_id, "first": as_utc(span.first_ms)}
        hits_values |= offsets(tz, span.first_ms, span.last_ms)
        steps: Steps = [
            *source,
            *sessions.merge_steps(app_id, span),
            *visit_counts.delta_steps(app_id, tz, span),
            batch.HITS.bind(**hits_values),
            *hit_counts.delta_steps(app_id),
            *sketches.delta_steps(app_id),
        ]
        if state is None:
            steps.append(state_step(app_id, tz))
        steps += [*done, _OLDEST_MERGED.bind()]
        result = self.store.write(steps, threads=FOLD_THREADS)
        oldest = result[-1][0][0] if result[-1] else None
        if oldest is not None and oldest < span.first_ms - SESSION_HORIZON_MS - DELTA_REACH_MS:
            # a session older than the local-day offsets reach: count its days again from raw
            self.store.write([rebuild_mark(app_id)])

    # -- upkeep -----------------------------------------------------------------------------
    def compact(self) -> int:
        """Merge duplicate rows of changed days and rebuild their week and month sketches;
        rebuild an app whole when flagged or when its time zone changed. Returns the days
        compacted."""
        if not self.enabled:
            return 0
        done = 0
        state = self.state()
        for app_id, days, rebuild in self.store.fetch(DIRTY_APPS):
            if rebuild or state.get(app_id) not in (None, self._tz(app_id)):
                self.rebuild(app_id)
            else:
                today = _local(self.clock.now_ms(), zone(self._tz(app_id)))
                self.store.write(compact_steps(app_id, today))
            done += int(days)
        return done

    def rebuild(self, app_id: str, chunk_days: int = 7) -> int:
        """Recompute an app's rollups from its raw events, a few days at a time. Returns hits
        read."""
        if not self.enabled:
            return 0
        # the state first: batches flushed meanwhile fold in normally (they are newer than `end`)
        self.store.write([*forget_steps(app_id), state_step(app_id, self._tz(app_id))])
        lo, hi = self.store.fetch(_APP_SPAN, [app_id])[0]
        if lo is None:
            return 0
        step, end = chunk_days * 86_400_000, int(hi) + 1
        read = sum(
            self._fold_range(app_id, ms, min(ms + step, end)) for ms in range(int(lo), end, step)
        )
        self.compact()
        return read

    def forget(self, app_id: str) -> None:
        """Drop every rollup row of an app (sessions too)."""
        if self.enabled:
            self.store.write(forget_steps(app_id))

    def forget_sessions_before(self, app_id: str, before_ms: int) -> None:
        """Retention: drop session rows that ended before ``before_ms`` (their days are
        counted already; only sessions still in progress are ever merged again)."""
        if self.enabled:
            self.store.write(sessions.forget_ended_steps(app_id, before_ms))
