"""``rollup_hll``: unique-visitor sketches. Per app, unit (``d`` local day, ``w`` ISO week, ``m``
month, by the unit's first day), dimension and value, one row per set HyperLogLog register:
``reg`` (the register: low bits of the visitor hash) and ``rho`` (its rank); merged with ``max``.
Estimates: 2^12 registers for the total (~1.6 % standard error), 2^10 per dimension value
(~3.3 %). Bots left out. Dimensions: those of hit_counts.

A fold appends its batch's registers for days and marks the days, weeks and months it touched;
compaction merges a day's rows and builds week and month sketches once the unit is over (until
then queries combine days; ``rollup_dirty`` tells them which units are stale).

Rows::

    app_id='6f1e…'  unit='d'  day=2026-12-04  dim=''               value=''    reg=1187  rho=3
    app_id='6f1e…'  unit='w'  day=2026-11-30  dim='visit:country'  value='DE'  reg=402   rho=5
"""

from __future__ import annotations

from datetime import date

from footfall.store.rollups.batch import HIT_PAIRS
from footfall.store.rollups.shape import (
    P_DIM,
    P_TOTAL,
    TOTAL,
    Statement,
    Steps,
    hll_register,
    hll_rho,
)

DDL = (
    "CREATE TABLE IF NOT EXISTS rollup_hll (app_id VARCHAR, unit VARCHAR, day DATE, dim VARCHAR,"
    " value VARCHAR, reg SMALLINT, rho TINYINT)"
)

# a register and its rank at the total's precision and at the dimensions' one
_RANKS = (
    f"{hll_register(P_TOTAL)} AS reg_t, {hll_rho(P_TOTAL)} AS rho_t,"
    f" {hll_register(P_DIM)} AS reg_d, {hll_rho(P_DIM)} AS rho_d"
)
_INSERT_DELTAS = Statement(
    "INSERT INTO rollup_hll SELECT $app, 'd', day, u.dim, u.value,"
    f" CASE WHEN u.dim = '{TOTAL}' THEN reg_t ELSE reg_d END AS reg,"
    f" max(CASE WHEN u.dim = '{TOTAL}' THEN rho_t ELSE rho_d END) FROM ("
    f"SELECT day, {_RANKS}, {HIT_PAIRS} FROM _rb_h) WHERE u IS NOT NULL"
    " GROUP BY day, u.dim, u.value, reg"
)
_MARK_UNITS = Statement(
    "INSERT INTO rollup_dirty SELECT DISTINCT $app, unit, day FROM (SELECT 'd' AS unit, day"
    " FROM _rb_h UNION SELECT 'w', CAST(date_trunc('week', day) AS DATE) FROM _rb_h"
    " UNION SELECT 'm', CAST(date_trunc('month', day) AS DATE) FROM _rb_h)"
)


def delta_steps(app_id: str) -> Steps:
    """The registers of the batch's hits (``_rb_h``); their days, weeks and months marked."""
    return [_INSERT_DELTAS.bind(app=app_id), _MARK_UNITS.bind(app=app_id)]


_MERGED_DAYS = Statement(
    "CREATE OR REPLACE TEMP TABLE _cs AS SELECT app_id, unit, day, dim, value, reg,"
    " max(rho) FROM rollup_hll WHERE app_id = $app AND unit = 'd'"
    " AND day IN (SELECT day FROM _cd) GROUP BY ALL"
)
_DELETE_DAYS = Statement(
    "DELETE FROM rollup_hll WHERE app_id = $app AND unit = 'd' AND day IN (SELECT day FROM _cd)"
)
# written sorted: a query's (app, dimension) rows sit together, so zone maps skip the rest
_INSERT_DAYS = Statement("INSERT INTO rollup_hll SELECT * FROM _cs ORDER BY dim, day, value")


def _unit_steps(unit: str, part: str, last: str) -> list[Statement]:
    """Rebuild the ``unit`` sketches (``part`` in date_trunc; ``last``: its last day) of the
    stale units that are over by ``$today``."""
    start = f"CAST(date_trunc('{part}', day) AS DATE)"
    return [
        Statement(
            "CREATE OR REPLACE TEMP TABLE _cu AS SELECT DISTINCT day FROM rollup_dirty"
            f" WHERE app_id = $app AND unit = '{unit}' AND {last} < $today"
        ),
        Statement(
            f"DELETE FROM rollup_hll WHERE app_id = $app AND unit = '{unit}'"
            " AND day IN (SELECT day FROM _cu)"
        ),
        Statement(
            f"INSERT INTO rollup_hll SELECT app_id, '{unit}', {start}, dim, value, reg,"
            " max(rho) FROM rollup_hll WHERE app_id = $app AND unit = 'd'"
            f" AND {start} IN (SELECT day FROM _cu) GROUP BY ALL ORDER BY dim, 3, value"
        ),
        Statement(
            f"DELETE FROM rollup_dirty WHERE app_id = $app AND unit = '{unit}'"
            " AND day IN (SELECT day FROM _cu)"
        ),
    ]


_WEEKS_AND_MONTHS = _unit_steps("w", "week", "day + 6") + _unit_steps("m", "month", "last_day(day)")


def compact_steps(app_id: str, today: date) -> Steps:
    """Merge the day sketches of the days in ``_cd`` (bookkeeping); rebuild the stale week and
    month sketches of units over before ``today`` (the app's local date)."""
    steps = [s.bind(app=app_id) for s in (_MERGED_DAYS, _DELETE_DAYS, _INSERT_DAYS)]
    return steps + [s.bind(app=app_id, today=today) for s in _WEEKS_AND_MONTHS]
