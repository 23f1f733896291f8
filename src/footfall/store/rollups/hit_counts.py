"""``rollup_hits``: per app, local day, dimension and value: pageviews and events (every hit,
pageviews included). Exact. Bots left out.

Dimensions: the total (``dim = ''``), ``event:page`` (pageviews only), ``event:name``,
``event:hostname`` and the sketched first-hit visit attributes (a hit counted under its session's
value). A fold appends its batch's counts; compaction sums a day's rows into one per value.

Rows::

    app_id='6f1e…'  day=2026-12-04  dim=''                value=''          pageviews=812  events=1040
    app_id='6f1e…'  day=2026-12-04  dim='event:page'      value='/pricing'  pageviews=97   events=97
    app_id='6f1e…'  day=2026-12-04  dim='visit:country'   value='DE'        pageviews=140  events=171
"""

from __future__ import annotations

from footfall.store.rollups.batch import HIT_PAIRS
from footfall.store.rollups.shape import Statement, Steps

DDL = (
    "CREATE TABLE IF NOT EXISTS rollup_hits (app_id VARCHAR, day DATE, dim VARCHAR,"
    " value VARCHAR, pageviews BIGINT, events BIGINT)"
)

_INSERT_DELTAS = Statement(
    "INSERT INTO rollup_hits SELECT $app, day, u.dim, u.value,"
    " count(*) FILTER (WHERE event = 'pageview'), count(*) FROM ("
    f"SELECT day, event, {HIT_PAIRS} FROM _rb_h) WHERE u IS NOT NULL"
    " GROUP BY day, u.dim, u.value"
)


def delta_steps(app_id: str) -> Steps:
    """The counts of the batch's hits (``_rb_h``)."""
    return [_INSERT_DELTAS.bind(app=app_id)]


_SUMMED = Statement(
    "CREATE OR REPLACE TEMP TABLE _ch AS SELECT app_id, day, dim, value,"
    " sum(pageviews), sum(events) FROM rollup_hits WHERE app_id = $app"
    " AND day IN (SELECT day FROM _cd) GROUP BY ALL"
)
_DELETE_DAYS = Statement(
    "DELETE FROM rollup_hits WHERE app_id = $app AND day IN (SELECT day FROM _cd)"
)
# written sorted: a query's (app, dimension) rows sit together, so zone maps skip the rest
_INSERT_SUMMED = Statement("INSERT INTO rollup_hits SELECT * FROM _ch ORDER BY dim, day")


def compact_steps(app_id: str) -> Steps:
    """One row per (day, dimension, value) for the days in ``_cd`` (bookkeeping)."""
    return [s.bind(app=app_id) for s in (_SUMMED, _DELETE_DAYS, _INSERT_SUMMED)]
