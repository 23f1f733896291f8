"""The batch a fold reads, as the temporary names the table modules' statements use.

- ``_rb``: the batch's hits, the columns of ``FOLD_COLUMNS`` and ``rid`` (a row id, which the
  grouping by session keeps instead of the first hit's values). From the events table (a view of
  one app's rows of the writes being folded, :data:`STORED_VIEW`, or a copy of a range of them,
  :data:`RANGE_COPY`).
- ``_rb_h``: its non-bot hits with their local day, visitor hash and their session's sketched
  visit attributes (as merged: ``sessions.MERGED``), which hit_counts and sketches read.
- :data:`HIT_PAIRS`: each ``_rb_h`` row unnested into the (dimension, value) pairs it counts for.
"""

from __future__ import annotations

from footfall.store.rollups.sessions import MERGED
from footfall.store.rollups.shape import (
    FOLD_COLUMNS,
    HIT_DIMS,
    SKETCH_VISIT_DIMS,
    TOTAL,
    Statement,
    dim_pair,
    local_day,
    or_none,
    visit_column,
)

_SELECT = f"SELECT rowid AS rid, {', '.join(FOLD_COLUMNS)} FROM events"

# the rows of one app's writes ``$after < fold_seq <= $through``: the bounds are session
# variables, which DuckDB folds into constants and pushes into the scan (only the recent row
# groups are read), so the fold does not hold a second copy of the batch (~20 MB at 50,000 hits)
STORED_VIEW = [
    Statement("SET VARIABLE footfall_fold_app = $app"),
    Statement("SET VARIABLE footfall_fold_after = $after"),
    Statement("SET VARIABLE footfall_fold_through = $through"),
    Statement(
        f"CREATE OR REPLACE TEMP VIEW _rb AS {_SELECT}"
        " WHERE app_id = getvariable('footfall_fold_app')"
        " AND fold_seq > getvariable('footfall_fold_after')"
        " AND fold_seq <= getvariable('footfall_fold_through')"
    ),
]
DROP_VIEW = Statement("DROP VIEW IF EXISTS _rb")

# an app's hits with ``$since <= ts < $until`` (a rebuild's chunk), copied
RANGE_COPY = Statement(
    f"CREATE TEMP TABLE _rb AS {_SELECT} WHERE app_id = $app AND ts >= $since AND ts < $until"
)

_ATTRIBUTES = ", ".join(f"s.{visit_column(d.short)}" for d in SKETCH_VISIT_DIMS)
# joined against ``_rb_m`` (exactly the batch's sessions), not every recent row of
# ``sessions``: a fold's memory and time stay in proportion to the batch
HITS = Statement(
    f"CREATE OR REPLACE TEMP TABLE _rb_h AS {MERGED}SELECT {local_day('h.ts')} AS day,"
    f" h.event, h.path, h.hostname, hash(h.visitor_id) AS vh, {_ATTRIBUTES} FROM _rb h"
    " LEFT JOIN _rb_m s ON s.session_id = h.session_id WHERE coalesce(h.bot, '') = ''"
)

# every dimension counted and sketched per hit, as pairs unnested into one grouping (one
# aggregate per dimension held them all in memory at once); pages count pageviews only
_PAIRS = [
    dim_pair(TOTAL, "''"),
    f"CASE WHEN event = 'pageview' THEN {dim_pair('event:page', or_none('path'))} END",
    *(dim_pair(name, or_none(col)) for name, col in HIT_DIMS.items() if name != "event:page"),
    *(dim_pair(d.name, or_none(visit_column(d.short))) for d in SKETCH_VISIT_DIMS),
]
HIT_PAIRS = f"unnest([{', '.join(_PAIRS)}]) AS u"
