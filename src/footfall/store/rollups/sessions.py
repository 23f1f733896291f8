"""``sessions``: one row per session, merged fold by fold. Exact.

Each fold inserts the batch's new sessions and extends the ones it continues: start, end,
pageviews and hits add up; the visitor, bot flag and first-hit visit attributes (``v_<dimension>``)
stay those of the session's earliest hit; entry and exit page follow the earliest and latest
pageview. Bots are kept (``bot``) for the raw path; the other rollups leave them out.

A row (ids shortened)::

    app_id='6f1e…'  session_id='b07c…'  visitor_id='41d2…'  vh=-80136475309
    started=2026-12-04 09:12:03  ended=2026-12-04 09:20:41  s_pageviews=3  s_hits=4  bot=''
    v_entry_page='/'  entry_ts=2026-12-04 09:12:03  v_exit_page='/pricing'  exit_ts=…09:20:41
    v_source='Google'  v_referrer='https://www.google.com/'  v_medium='search'  v_country='DE' …
"""

from __future__ import annotations

from footfall.query.periods import as_utc
from footfall.query.sql import SESSION_HORIZON_MS
from footfall.store.rollups.shape import FIRST_HIT_DIMS, Span, Statement, Steps, visit_column

_FIRST_HIT_COLUMNS = [visit_column(d.short) for d in FIRST_HIT_DIMS]

DDL = (
    "CREATE TABLE IF NOT EXISTS sessions (app_id VARCHAR, session_id VARCHAR, visitor_id VARCHAR,"
    " vh UBIGINT, started TIMESTAMP, ended TIMESTAMP, s_pageviews INTEGER, s_hits INTEGER,"
    " bot VARCHAR, v_entry_page VARCHAR, entry_ts TIMESTAMP, v_exit_page VARCHAR,"
    " exit_ts TIMESTAMP, " + ", ".join(f"{c} VARCHAR" for c in _FIRST_HIT_COLUMNS) + ")"
)

# The batch's hits (``_rb``) grouped by session: what each session gained in this batch. The
# grouping keeps small values per session (times, counts, entry and exit page, the ``rid`` of its
# first hit); the first hit's visit attributes come from a join on that ``rid``. Carrying those
# ~20 values through the grouping (an ``arg_min`` over a struct of them) held them all in its
# hash table: +48 MB against +15 MB for 50,000 new sessions, and twice the time
# (docs/benchmarks.md).
_FIRST_HIT_VALUES = ", ".join(
    f"CAST(h.{d.column} AS VARCHAR) AS {visit_column(d.short)}" for d in FIRST_HIT_DIMS
)
_BATCH_SESSIONS = (
    f"SELECT n.*, h.visitor_id, h.bot, {_FIRST_HIT_VALUES} FROM ("
    "SELECT session_id, min(ts) AS started, max(ts) AS ended,"
    " count(*) FILTER (WHERE event = 'pageview') AS s_pageviews, count(*) AS s_hits,"
    " arg_min(path, ts) FILTER (WHERE event = 'pageview') AS v_entry_page,"
    " min(ts) FILTER (WHERE event = 'pageview') AS entry_ts,"
    " arg_max(path, ts) FILTER (WHERE event = 'pageview') AS v_exit_page,"
    " max(ts) FILTER (WHERE event = 'pageview') AS exit_ts, arg_min_null(rid, ts) AS first_rid"
    " FROM _rb WHERE session_id IS NOT NULL GROUP BY session_id) n"
    " JOIN _rb h ON h.rid = n.first_rid"
)

# The earlier rows of the batch's sessions (needed once they are deleted). Only this is a
# temporary table: a transaction's temporary tables stay in memory until it commits, so the rest
# is read where it is (``_rb`` and ``sessions``).
_KEEP_OLD = Statement(
    "CREATE OR REPLACE TEMP TABLE _rb_old AS SELECT * FROM sessions WHERE app_id = $app"
    " AND ended >= $horizon AND session_id IN (SELECT session_id FROM _rb)"
)
_DELETE_OLD = Statement(
    "DELETE FROM sessions WHERE app_id = $app AND ended >= $horizon"
    " AND session_id IN (SELECT session_id FROM _rb_old)"
)
_NEWER = "(o.session_id IS NULL OR n.started < o.started)"  # the batch holds the first hit
_INSERT_MERGED = Statement(
    "INSERT INTO sessions BY NAME SELECT $app AS app_id, n.session_id,"
    f" CASE WHEN {_NEWER} THEN n.visitor_id ELSE o.visitor_id END AS visitor_id,"
    f" hash(CASE WHEN {_NEWER} THEN n.visitor_id ELSE o.visitor_id END) AS vh,"
    " least(n.started, coalesce(o.started, n.started)) AS started,"
    " greatest(n.ended, coalesce(o.ended, n.ended)) AS ended,"
    " n.s_pageviews + coalesce(o.s_pageviews, 0) AS s_pageviews,"
    " n.s_hits + coalesce(o.s_hits, 0) AS s_hits,"
    f" CASE WHEN {_NEWER} THEN n.bot ELSE o.bot END AS bot,"
    " CASE WHEN o.entry_ts IS NULL OR n.entry_ts < o.entry_ts THEN n.v_entry_page"
    " ELSE o.v_entry_page END AS v_entry_page,"
    " least(n.entry_ts, coalesce(o.entry_ts, n.entry_ts)) AS entry_ts,"
    " CASE WHEN o.exit_ts IS NULL OR n.exit_ts >= o.exit_ts THEN n.v_exit_page"
    " ELSE o.v_exit_page END AS v_exit_page,"
    " greatest(n.exit_ts, coalesce(o.exit_ts, n.exit_ts)) AS exit_ts, "
    + ", ".join(f"CASE WHEN {_NEWER} THEN n.{c} ELSE o.{c} END AS {c}" for c in _FIRST_HIT_COLUMNS)
    + f" FROM ({_BATCH_SESSIONS}) n LEFT JOIN _rb_old o ON o.session_id = n.session_id"
)

_FORGET_ENDED = Statement("DELETE FROM sessions WHERE app_id = $app AND ended < $before")

# ``_rb_m``: the batch's sessions as merged. Every merged session ended at or after the batch's
# first hit and older rows of the same ids are gone, so this reads only the rows the fold just
# wrote. Binds ``$app`` and ``$first`` (the batch's first hit).
MERGED = (
    "WITH _rb_m AS (SELECT * FROM sessions WHERE app_id = $app AND ended >= $first"
    " AND session_id IN (SELECT session_id FROM _rb)) "
)


def merge_steps(app_id: str, span: Span) -> Steps:
    """Merge the batch's sessions (``_rb``) into ``sessions``: new ones inserted, old ones
    extended; their earlier rows are left in ``_rb_old`` for the deltas of visit_counts."""
    horizon = as_utc(span.first_ms - SESSION_HORIZON_MS)
    return [
        _KEEP_OLD.bind(app=app_id, horizon=horizon),
        _DELETE_OLD.bind(app=app_id, horizon=horizon),
        _INSERT_MERGED.bind(app=app_id),
    ]


def forget_ended_steps(app_id: str, before_ms: int) -> Steps:
    """Drop session rows that ended before ``before_ms``: their days are counted already; only
    sessions still in progress are ever merged again."""
    return [_FORGET_ENDED.bind(app=app_id, before=as_utc(before_ms))]
