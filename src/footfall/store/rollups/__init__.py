"""Rollups: derived tables of a DuckDB store that answer the dashboard's unfiltered questions
without scanning raw hits (footfall.query.fast reads them).

One module per table, each with its DDL, its statements and a sample row: sessions
(``sessions``), hit_counts (``rollup_hits``), visit_counts (``rollup_sessions``), sketches
(``rollup_hll``) and bookkeeping (``rollup_state``, ``rollup_dirty``, ``rollup_feed``). batch names
what a fold reads; fold (:class:`Rollups`) runs folds, compaction, rebuilds and retention; feed
(:class:`RollupFeed`) writes the buffer's batches and folds them in bigger, rarer steps.

Every statement is SQL built at import from these modules' constants, with named parameters
(:class:`footfall.store.rollups.shape.Statement`): no value is ever formatted in.
"""

from footfall.store.rollups.bookkeeping import rebuild_mark
from footfall.store.rollups.feed import RollupFeed
from footfall.store.rollups.fold import Rollups

__all__ = ["RollupFeed", "Rollups", "rebuild_mark"]
