"""``rollup_sessions``: per app, local day a session started, dimension and value: visits,
bounces, total duration (seconds) and pageviews of those sessions. Exact.

A fold writes signed deltas: each session it touched counted in as merged and, if it existed
before, counted out as it was (``_rb_old``), so a fold costs in proportion to its batch, not to
the sessions already stored that day. Compaction sums a day's rows into one per value and drops
values every session has left. Dimensions: the total (``dim = ''``) and every visit attribute,
entry and exit page included.

Rows (one visit, continued by a second fold, before compaction)::

    app_id='6f1e…'  day=2026-12-04  dim='visit:source'  value='Google'
        visits=1   bounces=1  duration=0.0    pageviews=1     (the first fold: a bounce)
        visits=-1  bounces=-1 duration=0.0    pageviews=-1    (the second fold: counted out…)
        visits=1   bounces=0  duration=518.0  pageviews=3     (…and in again as it is now)
"""

from __future__ import annotations

from footfall.query.periods import as_utc
from footfall.query.sql import SESSION_HORIZON_MS
from footfall.store.rollups.sessions import MERGED
from footfall.store.rollups.shape import (
    DELTA_REACH_MS,
    TOTAL,
    VISIT_DIMS,
    Span,
    Statement,
    Steps,
    dim_pair,
    local_day,
    offsets,
    or_none,
    visit_column,
)

DDL = (
    "CREATE TABLE IF NOT EXISTS rollup_sessions (app_id VARCHAR, day DATE, dim VARCHAR,"
    " value VARCHAR, visits BIGINT, bounces BIGINT, duration DOUBLE, pageviews BIGINT)"
)

_COLUMNS = ", ".join(
    ["bot", "started", "ended", "s_pageviews", "s_hits"]
    + [visit_column(d.short) for d in VISIT_DIMS]
)
_HUMAN = "coalesce(bot, '') = ''"
# ``_rb_sd``: the merged sessions counted in (+1), their earlier rows counted out (-1)
_SIGNED = (
    MERGED + f", _rb_sd AS (SELECT 1 AS sign, {local_day('started')} AS day, {_COLUMNS}"
    f" FROM _rb_m WHERE {_HUMAN} UNION ALL SELECT -1, {local_day('started')}, {_COLUMNS}"
    f" FROM _rb_old WHERE {_HUMAN}) "
)
# one grouping over (day, dimension, value) pairs: a statement of one aggregate per dimension
# held every aggregate's table at once (~100 MB more on 50,000 sessions)
_PAIRS = ", ".join(
    [dim_pair(TOTAL, "''")] + [dim_pair(d.name, or_none(visit_column(d.short))) for d in VISIT_DIMS]
)
_INSERT_DELTAS = Statement(
    "INSERT INTO rollup_sessions " + _SIGNED + "SELECT $app, day, u.dim, u.value, sum(sign),"
    " coalesce(sum(sign) FILTER (WHERE s_pageviews = 1 AND s_hits = 1), 0),"
    " sum(sign * epoch(ended - started)), sum(sign * s_pageviews) FROM ("
    "SELECT day, sign, started, ended, s_pageviews, s_hits,"
    f" unnest([{_PAIRS}]) AS u FROM _rb_sd) GROUP BY day, u.dim, u.value"
)
_MARK_DAYS = Statement(
    "INSERT INTO rollup_dirty " + _SIGNED + "SELECT DISTINCT $app, 'd', day FROM _rb_sd"
)


def delta_steps(app_id: str, tz: str, span: Span) -> Steps:
    """The deltas of the sessions the batch touched (after sessions.merge_steps), and their days
    marked for compaction."""
    reach = offsets(tz, span.first_ms - SESSION_HORIZON_MS - DELTA_REACH_MS, span.last_ms)
    values = {"app": app_id, "first": as_utc(span.first_ms), **reach}
    return [_INSERT_DELTAS.bind(**values), _MARK_DAYS.bind(**values)]


_SUMMED = Statement(
    "CREATE OR REPLACE TEMP TABLE _css AS SELECT app_id, day, dim, value, sum(visits),"
    " sum(bounces), round(sum(duration), 3), sum(pageviews) FROM rollup_sessions"
    " WHERE app_id = $app AND day IN (SELECT day FROM _cd) GROUP BY ALL"
    " HAVING sum(visits) <> 0"  # a value every session has left (counted out)
)
_DELETE_DAYS = Statement(
    "DELETE FROM rollup_sessions WHERE app_id = $app AND day IN (SELECT day FROM _cd)"
)
_INSERT_SUMMED = Statement("INSERT INTO rollup_sessions SELECT * FROM _css ORDER BY dim, day")


def compact_steps(app_id: str) -> Steps:
    """One row per (day, dimension, value) for the days in ``_cd`` (bookkeeping)."""
    return [s.bind(app=app_id) for s in (_SUMMED, _DELETE_DAYS, _INSERT_SUMMED)]
