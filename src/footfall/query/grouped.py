"""The v2 API's queries in the query engine: metrics per combination of keys.

Keys are dimensions (several at a time) and time buckets (time:hour|day|week|month). The rollups
answer what they hold (the totals, one dimension ordered by its first metric, one day/week/month
key; footfall.query.fast), the raw hits the rest (``footfall.query.sql_grouped``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from footfall.query.numbers import Number, number, rate
from footfall.query.spec import (
    DERIVED_METRICS,
    GOAL,
    MAX_LIMIT,
    QueryError,
    QuerySpec,
    check_metrics,
    dimension,
)
from footfall.query.sql import Sql, split_metrics
from footfall.query.sql_grouped import Key

if TYPE_CHECKING:
    from footfall.query.engine import QueryEngine

TIME_KEYS = {"time:hour": "hour", "time:day": "day", "time:week": "week", "time:month": "month"}
Row = tuple[list[str], dict[str, Number]]  # a grouped row: its key values, its metrics


class GroupedQueries:
    """The engine's grouped queries (``QueryEngine.grouping``; ``QueryEngine.grouped``)."""

    def __init__(self, engine: QueryEngine) -> None:
        self.engine = engine

    def grouped(
        self,
        q: QuerySpec,
        metrics: Sequence[str],
        keys: Sequence[str] = (),
        order: Sequence[tuple[str, bool]] = (),
        limit: int = MAX_LIMIT,
        offset: int = 0,
        total: bool = False,
    ) -> tuple[list[Row], int | None]:
        """Metrics per combination of ``keys`` (dimension names, or time:hour|day|week|month),
        only the combinations with hits, ordered by ``order`` ((metric or key, descending?),
        ties by the keys ascending), from the ``offset``-th row; and, with ``total``, how many
        rows there are in all.

        Metrics mean what they mean in the other calls, but ``conversion_rate``: the share of
        all the period's visitors (under the visit filters), one denominator for every row, as
        Plausible's; ``time_on_page`` needs no keys (and an event:page filter) or event:page
        alone."""
        engine = self.engine
        wanted = list(check_metrics(list(metrics)))
        engine._check_revenue(wanted)
        if not 1 <= limit <= MAX_LIMIT:
            raise QueryError("limit", f"limit must be between 1 and {MAX_LIMIT}")
        if offset < 0:
            raise QueryError("offset", "offset must be 0 or more")
        parsed = [self._key(k) for k in keys]
        dims = [k.dim for k in parsed if k.dim is not None]
        for name, _ in order:
            if name not in wanted and name not in keys:
                raise QueryError("order_by", f"{name!r} is neither a metric nor a key asked for")
        if list(keys) == [GOAL]:  # the goals' own breakdown: exact, from the raw events
            goals = engine.goals.breakdown(q, wanted, MAX_LIMIT, 1)
            by_goal: list[Row] = [
                ([str(r["goal"])], {m: _as_number(r.get(m)) for m in wanted}) for r in goals
            ]
            if order:
                by_goal = _sorted(by_goal, list(keys), order)
            return by_goal[offset : offset + limit], (len(by_goal) if total else None)
        if "time_on_page" in wanted:
            if list(keys) not in ([], ["event:page"]):
                raise QueryError("metrics", "time_on_page is answered per page (event:page) only")
            engine.page_times.check(q, wanted, dims[0] if dims else None)
        counted = [m for m in wanted if m not in DERIVED_METRICS]
        if "conversion_rate" in wanted and "visitors" not in counted:
            counted.append("visitors")
        if parsed and not counted:  # the rows time on page is told for
            counted = ["pageviews"]
        w = engine.window(q)
        one_dim = dims[0] if len(dims) == 1 and len(parsed) == 1 else None
        route = engine._route(
            q, w, one_dim, counted or ["events"], buckets=all(k.interval != "hour" for k in parsed)
        )
        scope = engine.scope(q, w, route, pageviews_only="event:page" in keys)
        engine._check_conversion(scope, wanted)
        # conversion_rate has one denominator for every row: it sorts as visitors do
        sql_order = [("visitors" if n == "conversion_rate" else n, d) for n, d in order]
        in_python = any(n == "time_on_page" for n, _ in order)  # known after the rows
        rows: list[Row]
        count: int | None = None
        sliced = False  # rows are the page asked for already
        if not parsed:
            rows = [([], dict(engine._totals_any(q, w, counted)) if counted else {})]
            count = 1
        elif one_dim and counted and not in_python and sql_order in ([], [(counted[0], True)]):
            # the breakdown (from the rollups when they hold it), best first by that metric
            found, count = engine._breakdown(q, one_dim.name, counted, limit, offset, counted[0])
            rows = [
                ([str(r[one_dim.short])], {m: _as_number(r[m]) for m in counted}) for r in found
            ]
            sliced = True
        elif len(parsed) == 1 and parsed[0].dim is None and route.rollups and engine.fast:
            interval = parsed[0].interval or "day"
            table = engine.fast.table(q.app.id, w, None, counted, interval)
            rows = [([k], dict(v)) for (k, _), v in sorted(table.items())]
            count, in_python = len(rows), True
        else:
            hit_m, sess_m = split_metrics(counted)
            refs = [(f"k{list(keys).index(n)}" if n in keys else n, d) for n, d in sql_order]
            sql = engine.sql.grouped(
                scope,
                parsed,
                hit_m,
                sess_m,
                [] if in_python else refs,
                None if in_python else limit,
                0 if in_python else offset,
            )
            names = [*hit_m, *sess_m]
            rows = [
                (
                    [str(v) for v in row[: len(parsed)]],
                    dict(zip(names, row[len(parsed) :], strict=True)),
                )
                for row in engine._run(sql)
            ]
            sliced = not in_python
            if in_python:
                count = len(rows)
        if total and count is None:
            hit_m, sess_m = split_metrics(counted)
            inner = engine.sql.grouped(scope, parsed, hit_m, sess_m, [])
            count = int(engine._run(Sql("SELECT count(*) FROM (").extend(inner).add(") c"))[0][0])
        if "time_on_page" in wanted:
            times = engine.page_times.seconds(q, w, bool(parsed))
            for key_values, values in rows:
                values["time_on_page"] = times.get(key_values[0] if key_values else None)
        if "conversion_rate" in wanted:
            base = engine._base_visitors(scope, None).get(None)
            for _, values in rows:
                values["conversion_rate"] = rate(values.get("visitors"), base)
        if in_python:
            rows = _sorted(rows, list(keys), order)
        if not sliced:
            rows = rows[offset : offset + limit]
        out = [(kv, {m: number(m, values.get(m)) for m in wanted}) for kv, values in rows]
        return out, (count if total else None)

    @staticmethod
    def _key(name: str) -> Key:
        if name in TIME_KEYS:
            return Key(interval=TIME_KEYS[name])
        dim = dimension(name, "dimensions")
        if dim.name == "bot:name":
            raise QueryError("dimensions", "bot:name is the bot report's (the v1 breakdown)")
        return Key(dim=dim)


def _as_number(value: object) -> Number:
    return value if isinstance(value, int | float) else None


def _sorted(rows: list[Row], keys: list[str], order: Sequence[tuple[str, bool]]) -> list[Row]:
    """Rows in ``order`` ((metric or key, descending?); missing values last), ties by the keys."""
    out = sorted(rows, key=lambda r: r[0])

    def value(row: Row, name: str) -> Any:
        return row[0][keys.index(name)] if name in keys else row[1].get(name)

    for name, desc in reversed(order):
        present = [r for r in out if value(r, name) is not None]
        missing = [r for r in out if value(r, name) is None]
        out = sorted(present, key=lambda r: value(r, name), reverse=desc) + missing
    return out
