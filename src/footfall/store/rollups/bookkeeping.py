"""The rollups' own records.

- ``rollup_state``: per app, the time zone its local days are in (an app the rollups hold)::

      app_id='6f1e…'  tz='Europe/Berlin'

- ``rollup_dirty``: what compaction still has to do for an app: days with duplicate rows
  (``unit='d'``), week and month sketches that are stale (``'w'``, ``'m'``: by their first day;
  queries do not use them until rebuilt, once the unit is over), a rebuild from raw events
  (``'x'``, no day)::

      app_id='6f1e…'  unit='d'  day=2026-12-04
      app_id='6f1e…'  unit='x'  day=NULL

- ``rollup_feed``: the last write folded in (footfall.store.rollups.feed), for every app
  (``app_id=''``) and per app, each moved in the transaction of the fold it records::

      app_id=''  folded=41207
"""

from __future__ import annotations

from datetime import date

from footfall.store.rollups import hit_counts, sketches, visit_counts
from footfall.store.rollups.shape import Statement, Step, Steps

DDL = [
    "CREATE TABLE IF NOT EXISTS rollup_dirty (app_id VARCHAR, unit VARCHAR, day DATE)",
    "CREATE TABLE IF NOT EXISTS rollup_state (app_id VARCHAR PRIMARY KEY, tz VARCHAR)",
]
FEED_DDL = (
    "CREATE TABLE IF NOT EXISTS rollup_feed (app_id VARCHAR PRIMARY KEY, folded BIGINT NOT NULL)"
)
EVERY_APP = ""  # the feed's bookmark of writes folded in for every app

_MARK_REBUILD = Statement("INSERT INTO rollup_dirty VALUES ($app, 'x', NULL)")
_SET_STATE = Statement("INSERT OR REPLACE INTO rollup_state VALUES ($app, $tz)")
_SET_BOOKMARK = Statement("INSERT OR REPLACE INTO rollup_feed VALUES ($app, $folded)")
_DIRTY_DAYS = Statement(
    "CREATE OR REPLACE TEMP TABLE _cd AS SELECT DISTINCT day FROM rollup_dirty"
    " WHERE app_id = $app AND unit = 'd'"
)
_CLEAN_DAYS = Statement(
    "DELETE FROM rollup_dirty WHERE app_id = $app AND unit = 'd' AND day IN (SELECT day FROM _cd)"
)
# every table holding rows of an app, in the order forgetting them is safe in
APP_TABLES = (
    "sessions",
    "rollup_hits",
    "rollup_sessions",
    "rollup_hll",
    "rollup_dirty",
    "rollup_state",
)
_FORGET = [Statement(f"DELETE FROM {table} WHERE app_id = $app") for table in APP_TABLES]

STATES = "SELECT app_id, tz FROM rollup_state"
BOOKMARKS = "SELECT app_id, folded FROM rollup_feed"
DIRTY_APPS = (
    "SELECT app_id, count(*), count(*) FILTER (WHERE unit = 'x') FROM rollup_dirty GROUP BY 1"
)
STALE_UNITS = "SELECT DISTINCT unit, day FROM rollup_dirty WHERE app_id = ? AND unit <> 'd'"


def rebuild_mark(app_id: str) -> Step:
    """The step that flags an app's rollups for a rebuild from raw events (by compaction)."""
    return _MARK_REBUILD.bind(app=app_id)


def state_step(app_id: str, tz: str) -> Step:
    return _SET_STATE.bind(app=app_id, tz=tz)


def bookmark_step(app_id: str, folded: int) -> Step:
    return _SET_BOOKMARK.bind(app=app_id, folded=folded)


def compact_steps(app_id: str, today: date) -> Steps:
    """Merge an app's duplicate day rows and rebuild its finished weeks and months (``today``:
    the app's local date; units not over yet are left to the day rows)."""
    return [
        _DIRTY_DAYS.bind(app=app_id),
        *hit_counts.compact_steps(app_id),
        *visit_counts.compact_steps(app_id),
        *sketches.compact_steps(app_id, today),
        _CLEAN_DAYS.bind(app=app_id),
    ]


def forget_steps(app_id: str) -> Steps:
    """Drop every rollup row of an app (sessions too)."""
    return [s.bind(app=app_id) for s in _FORGET]
