"""The SQL of the v2 API's grouped queries (several keys, time buckets among them) and of time on
page (footfall.query.grouped), on the core of footfall.query.sql.
"""

from __future__ import annotations

from dataclasses import dataclass

from footfall.query.spec import Dim, Filter, dimension
from footfall.query.sql import CoreBuilder, Scope, Sql


@dataclass(frozen=True)
class Key:
    """What a grouped query groups by: a dimension, or a time bucket (``interval``: hour, day,
    week, month; hits by their time, visits by their start)."""

    dim: Dim | None = None
    interval: str = "day"


class GroupedBuilder(CoreBuilder):
    """Grouped rows per combination of keys, and the time between a session's hits."""

    def grouped(
        self,
        scope: Scope,
        keys: list[Key],
        hit_m: list[str],
        sess_m: list[str],
        order: list[tuple[str, bool]],
        limit: int | None = None,
        offset: int = 0,
    ) -> Sql:
        """Rows (key values…, hit metrics…, session metrics…) per combination of ``keys``.

        ``order``: (metric name or ``k<i>`` for the i-th key, descending?), ties broken by the
        keys. Hit metrics count the hits with those values; session metrics the visits (by
        their start for a time key) with those visit values that had a hit with those event
        values. ``limit=None``: every row (and no ORDER BY when ``order`` is empty)."""
        dims = tuple(k.dim for k in keys if k.dim is not None)
        visit_dims = [d for d in dims if d.level == "visit"]
        event_dims = [d for d in dims if d.level == "event"]
        sql = self.with_clause(
            scope,
            visit_dims,
            sessions=bool(sess_m or scope.visit_filters or visit_dims),
            groups=dims,
        )
        w = scope.window
        group_by = " GROUP BY " + ", ".join(str(i + 1) for i in range(len(keys)))
        parts: list[tuple[str, Sql]] = []
        if hit_m:
            part = Sql("SELECT ")
            for i, k in enumerate(keys):
                expr = (
                    self.bucket("h.ts", w, k.interval) if k.dim is None else self.value(k.dim, "h")
                )
                part.extend(expr).add(f" AS k{i}, ")
            part.add(", ".join(self.hit_aggregates(hit_m)) + " FROM hits h" + group_by)
            parts.append(("a", part))
        if sess_m:
            part = Sql("SELECT ")
            for i, k in enumerate(keys):
                if k.dim is None:
                    expr = self.bucket("s.started", w, k.interval)
                elif k.dim.level == "visit":
                    expr = self.value(k.dim, "s")
                else:
                    expr = Sql(f"g.e{event_dims.index(k.dim)}")
                part.extend(expr).add(f" AS k{i}, ")
            part.add(", ".join(self.session_aggregates(sess_m)))
            if event_dims:  # the visits that had a hit with those values
                part.add(" FROM (SELECT DISTINCT ")
                for j, d in enumerate(event_dims):
                    part.extend(self.value(d, "h")).add(f" AS e{j}, ")
                part.add("h.session_id FROM hits h) g JOIN visits s ON s.session_id = g.session_id")
            else:
                part.add(" FROM visits s")
            parts.append(("b", part.add(group_by)))
        cols = ", ".join(f"{'a' if m in hit_m else 'b'}.{m} AS {m}" for m in hit_m + sess_m)
        if len(parts) == 2:
            names = ", ".join(f"coalesce(a.k{i}, b.k{i}) AS k{i}" for i in range(len(keys)))
            on = " AND ".join(f"a.k{i} = b.k{i}" for i in range(len(keys)))
            sql.add(f" SELECT {names}, {cols} FROM (").extend(parts[0][1])
            sql.add(") a FULL JOIN (").extend(parts[1][1]).add(f") b ON {on}")
        else:
            alias, part = parts[0]
            names = ", ".join(f"{alias}.k{i} AS k{i}" for i in range(len(keys)))
            sql.add(f" SELECT {names}, {cols} FROM (").extend(part).add(f") {alias}")
        if limit is None and not order:
            return sql
        terms: list[str] = []
        for name, desc in order:
            if name.startswith("k") and name[1:].isdigit():
                ref = str(int(name[1:]) + 1)
            else:
                ref = f"{'a' if name in hit_m else 'b'}.{name}"
            terms.append(f"{ref} {'DESC' if desc else 'ASC'} NULLS LAST")
        terms += [str(i + 1) for i in range(len(keys))]
        sql.add(" ORDER BY " + ", ".join(terms))
        if limit is not None:
            sql.add(" LIMIT ? OFFSET ?", limit, offset)
        return sql

    def time_on_page(self, scope: Scope, pages: tuple[Filter, ...], by_page: bool) -> Sql:
        """Rows (page or NULL, seconds, transitions), as Plausible's legacy time on page: for
        each hit, the time to the session's next hit; summed per (page, next page, session),
        and divided (by the caller) by the number of those with a next page that is another
        page. ``pages``: event:page filters, applied to the page a transition starts from."""
        sql = self.with_clause(scope, [], sessions=bool(scope.visit_filters))
        nxt = self.d.next_in_session
        secs = self.d.seconds_between.format(a="t.next_ts", b="t.ts")
        sql.add(
            f", t AS (SELECT session_id, ts, path, {nxt.format(x='ts')} AS next_ts,"
            f" {nxt.format(x='path')} AS next_path FROM hits)"
            f", tr AS (SELECT t.path, t.next_path, t.session_id, sum({secs}) AS d FROM t"
            " WHERE t.next_ts IS NOT NULL"
        )
        for f in pages:
            sql.add(" AND ").extend(self.condition(f, "t"))
        transitions = self.d.count_if.format(c="next_path <> path")
        key = self.value(dimension("event:page"), "tr").text if by_page else "NULL"
        return sql.add(
            f" GROUP BY 1, 2, 3) SELECT {key}, sum(tr.d), {transitions} FROM tr GROUP BY 1"
        )
