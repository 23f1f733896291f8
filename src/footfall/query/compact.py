"""Rollup compaction: merge the duplicate (delta) rows that batch-by-batch upkeep leaves, rebuild finished
week and month sketches. Run by the server's upkeep job through ``Rollups.compact``."""

from __future__ import annotations

from datetime import date
from typing import Any


def compact_steps(app_id: str, today: date) -> list[tuple[str, list[Any]]]:
    """Statements that merge an app's duplicate day rows and rebuild its finished weeks and
    months (``today`` is the app's local date: units not over yet are left to the day rows)."""
    steps: list[tuple[str, list[Any]]] = [
        (
            "CREATE OR REPLACE TEMP TABLE _cd AS SELECT DISTINCT day FROM rollup_dirty"
            " WHERE app_id = ? AND unit = 'd'",
            [app_id],
        ),
        (
            "CREATE OR REPLACE TEMP TABLE _ch AS SELECT app_id, day, dim, value,"
            " sum(pageviews), sum(events) FROM rollup_hits WHERE app_id = ?"
            " AND day IN (SELECT day FROM _cd) GROUP BY ALL",
            [app_id],
        ),
        ("DELETE FROM rollup_hits WHERE app_id = ? AND day IN (SELECT day FROM _cd)", [app_id]),
        ("INSERT INTO rollup_hits SELECT * FROM _ch ORDER BY dim, day", []),
        (
            "CREATE OR REPLACE TEMP TABLE _css AS SELECT app_id, day, dim, value, sum(visits),"
            " sum(bounces), round(sum(duration), 3), sum(pageviews) FROM rollup_sessions"
            " WHERE app_id = ? AND day IN (SELECT day FROM _cd) GROUP BY ALL"
            " HAVING sum(visits) <> 0",  # a value every session has left (counted out)
            [app_id],
        ),
        (
            "DELETE FROM rollup_sessions WHERE app_id = ? AND day IN (SELECT day FROM _cd)",
            [app_id],
        ),
        ("INSERT INTO rollup_sessions SELECT * FROM _css ORDER BY dim, day", []),
        (
            "CREATE OR REPLACE TEMP TABLE _cs AS SELECT app_id, unit, day, dim, value, reg,"
            " max(rho) FROM rollup_hll WHERE app_id = ? AND unit = 'd'"
            " AND day IN (SELECT day FROM _cd) GROUP BY ALL",
            [app_id],
        ),
        (
            "DELETE FROM rollup_hll WHERE app_id = ? AND unit = 'd'"
            " AND day IN (SELECT day FROM _cd)",
            [app_id],
        ),
        # written sorted: a query's (app, dimension) rows sit together, so zone maps skip the rest
        ("INSERT INTO rollup_hll SELECT * FROM _cs ORDER BY dim, day, value", []),
        (
            "DELETE FROM rollup_dirty WHERE app_id = ? AND unit = 'd'"
            " AND day IN (SELECT day FROM _cd)",
            [app_id],
        ),
    ]
    # week and month sketches are rebuilt once the unit is over (until then queries use days)
    for unit, part, last in (("w", "week", "day + 6"), ("m", "month", "last_day(day)")):
        start = f"CAST(date_trunc('{part}', day) AS DATE)"
        steps += [
            (
                "CREATE OR REPLACE TEMP TABLE _cu AS SELECT DISTINCT day FROM rollup_dirty"
                f" WHERE app_id = ? AND unit = '{unit}' AND {last} < ?",
                [app_id, today],
            ),
            (
                f"DELETE FROM rollup_hll WHERE app_id = ? AND unit = '{unit}'"
                " AND day IN (SELECT day FROM _cu)",
                [app_id],
            ),
            (
                f"INSERT INTO rollup_hll SELECT app_id, '{unit}', {start}, dim, value, reg,"
                " max(rho) FROM rollup_hll WHERE app_id = ? AND unit = 'd'"
                f" AND {start} IN (SELECT day FROM _cu) GROUP BY ALL ORDER BY dim, 3, value",
                [app_id],
            ),
            (
                f"DELETE FROM rollup_dirty WHERE app_id = ? AND unit = '{unit}'"
                " AND day IN (SELECT day FROM _cu)",
                [app_id],
            ),
        ]
    return steps
