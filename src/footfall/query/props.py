"""The custom property keys used in a period, most used first (the dashboard's events panel).

Used by the dashboard; DuckDB only: other dialects answer no keys."""

from __future__ import annotations

from footfall.query.engine import QueryEngine
from footfall.query.periods import as_utc
from footfall.query.spec import QuerySpec


def prop_keys(engine: QueryEngine, q: QuerySpec, limit: int = 5) -> list[str]:
    if engine.store.dialect != "duckdb":
        return []
    w = engine.window(q)
    rows = engine.store.fetch(
        "SELECT k, count(*) AS n FROM (SELECT unnest(map_keys(props)) AS k FROM events"
        " WHERE app_id = ? AND ts >= ? AND ts < ?"
        " AND props IS NOT NULL AND event <> 'pageview') GROUP BY k ORDER BY n DESC, k LIMIT ?",
        [q.app.id, as_utc(w.start_ms), as_utc(w.end_ms), limit],
    )
    return [str(r[0]) for r in rows]
