"""QueryEngine: aggregate, timeseries, breakdown and realtime answers for one app.

Every call validates its input (QueryError names the parameter), works out the UTC window from the
app's time zone, and runs SQL built by ``footfall.query.sql`` on the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from footfall.clock import Clock
from footfall.model import App, Funnel, Goal
from footfall.query.fast import RAW, FastPath, Route
from footfall.query.goals import GoalQueries, check_goal_filters
from footfall.query.periods import Window, bucket_keys, default_interval, previous, window
from footfall.query.spec import (
    GOAL,
    INTERVALS,
    REVENUE_METRICS,
    Dim,
    QueryError,
    QuerySpec,
    check_metrics,
    dimension,
)
from footfall.query.sql import Builder, Scope, Sql, split_metrics
from footfall.store.base import Store
from footfall.store.rollups import Rollups

Number = float | int | None
MAX_LIMIT = 10_000


def _number(metric: str, value: Any) -> float | int:
    if value is None:
        return 0.0 if metric in ("views_per_visit", "conversion_rate") else 0
    if metric in ("views_per_visit", "conversion_rate"):
        return round(float(value), 2)
    return int(value)


def change(metric: str, current: Number, before: Number) -> int | float | None:
    """Plausible's comparison: percent change; for bounce_rate the difference in points."""
    if current is None or before is None:
        return None
    if metric in ("bounce_rate", "conversion_rate"):
        return round(float(current) - float(before), 2 if metric == "conversion_rate" else None)
    if before == 0:
        return 100 if current else 0
    return round((float(current) - float(before)) / float(before) * 100)


class QueryEngine:
    """``use_rollups=False`` answers everything from raw hits (the reference the rollups are
    tested and benchmarked against)."""

    def __init__(self, store: Store, clock: Clock, *, use_rollups: bool = True) -> None:
        self.store = store
        self.clock = clock
        self.sql = Builder(store.dialect)
        self.fast = FastPath(Rollups(store, lambda _: None, create=False)) if use_rollups else None
        self.goals = GoalQueries(self)

    def _route(
        self,
        q: QuerySpec,
        w: Window,
        dim: Dim | None,
        metrics: Sequence[str],
        *,
        bots: bool = False,
        buckets: bool = True,
    ) -> Route:
        if self.fast is None:
            return RAW
        return self.fast.route(
            q.app.id,
            q.app.timezone or "UTC",
            w,
            filters=q.filters,
            bots=q.include_bots or bots,
            dim=dim,
            metrics=metrics,
            buckets=buckets,
        )

    # -- shared -----------------------------------------------------------------------------
    def window(self, q: QuerySpec) -> Window:
        return window(q.period, q.date, q.app.timezone, self.clock.now_ms())

    def scope(
        self,
        q: QuerySpec,
        w: Window,
        route: Route,
        *,
        bots_only: bool = False,
        pageviews_only: bool = False,
        goals: bool = False,
    ) -> Scope:
        """``goals``: load the app's goals even without an ``event:goal`` filter (which loads
        and checks them)."""
        for f in q.filters:
            dimension(f.dimension, "filters")
        app_goals: tuple[Goal, ...] = ()
        if goals or any(f.dimension == GOAL for f in q.filters):
            app_goals = tuple(self.store.list_goals(q.app.id))
            check_goal_filters(q.filters, app_goals)
        return Scope(
            q.app.id,
            w,
            q.filters,
            q.include_bots or bots_only,
            bots_only,
            pageviews_only,
            route.sessions_table,
            app_goals,
        )

    @staticmethod
    def _check_revenue(metrics: Sequence[str]) -> None:
        if any(m in REVENUE_METRICS for m in metrics):
            raise QueryError(
                "metrics",
                "total_revenue and average_revenue are answered in a breakdown by event:goal",
            )

    def _check_conversion(self, scope: Scope, metrics: Sequence[str]) -> None:
        if "conversion_rate" in metrics and not scope.event_filters:
            raise QueryError(
                "metrics",
                "conversion_rate needs a goal: a filter on event:name, event:page or event:props",
            )

    def _run(self, sql: Sql) -> list[tuple[Any, ...]]:
        return self.store.answer(sql.text, sql.params)

    def _totals(self, scope: Scope, metrics: list[str]) -> dict[str, float | int]:
        hit_m, sess_m = split_metrics(metrics)
        row = self._run(self.sql.totals(scope, hit_m, sess_m))[0]
        values = dict(zip(hit_m + sess_m, row, strict=True))
        if "conversion_rate" in metrics:
            base = self._base_visitors(scope, None)
            values["conversion_rate"] = _rate(values["visitors"], base.get(None))
        return {m: _number(m, values.get(m)) for m in metrics}

    def _totals_any(self, q: QuerySpec, w: Window, metrics: list[str]) -> dict[str, float | int]:
        route = self._route(q, w, None, metrics)
        if route.rollups and self.fast is not None:
            row = self.fast.table(q.app.id, w, None, metrics, "all").get(("", ""), {})
            return {m: _number(m, row.get(m)) for m in metrics}
        return self._totals(self.scope(q, w, route), metrics)

    def _base_visitors(
        self, scope: Scope, key: Sql | None, visit_dims: list[Dim] | None = None
    ) -> dict[Any, int]:
        """Visitors without the event filters (the conversion rate's denominator), per key."""
        rows = self._run(self.sql.base_visitors(scope, key, visit_dims or []))
        return {k: int(v) for k, v in rows}

    # -- the contract -----------------------------------------------------------------------
    def aggregate(
        self,
        q: QuerySpec,
        metrics: Sequence[str],
        compare: bool = False,
        with_previous: bool = False,
    ) -> dict[str, dict[str, float | int | None]]:
        """``compare``: each metric's change from the previous period; ``with_previous`` adds that
        period's value (the dashboard tells a period after an empty one apart)."""
        wanted = list(check_metrics(list(metrics)))
        self._check_revenue(wanted)
        w = self.window(q)
        scope = self.scope(q, w, self._route(q, w, None, wanted))
        self._check_conversion(scope, wanted)
        now = self._totals_any(q, w, wanted)
        out: dict[str, dict[str, float | int | None]] = {m: {"value": now[m]} for m in wanted}
        if compare:
            before = self._totals_any(q, previous(w, q.period), wanted)
            for m in wanted:
                out[m]["change"] = change(m, now[m], before[m])
                if with_previous:
                    out[m]["previous"] = before[m]
        return out

    def timeseries(
        self, q: QuerySpec, metrics: Sequence[str], interval: str | None = None
    ) -> list[dict[str, object]]:
        wanted = list(check_metrics(list(metrics)))
        self._check_revenue(wanted)
        interval = interval or default_interval(q.period)
        if interval == "date":  # Plausible v1's name for daily buckets
            interval = "day"
        if interval not in INTERVALS:
            raise QueryError(
                "interval", f"unknown interval {interval!r}; use one of {', '.join(INTERVALS)}"
            )
        if interval == "minute" and q.period != "realtime":
            raise QueryError("interval", "interval=minute is only for period=realtime")
        if q.period == "realtime" and interval not in ("minute",):
            interval = "minute"
        w = self.window(q)
        if w.first_day is None and interval not in ("minute", "hour"):
            interval = "hour"  # a rolling window has no whole days
        if interval == "hour" and w.days > 31:
            raise QueryError("interval", "interval=hour covers at most 31 days")
        route = self._route(q, w, None, wanted, buckets=interval in ("day", "week", "month"))
        scope = self.scope(q, w, route)
        self._check_conversion(scope, wanted)
        if route.rollups and self.fast is not None:
            table = self.fast.table(q.app.id, w, None, wanted, interval)
            keys = bucket_keys(w, interval, self.clock.now_ms())
            return [
                {"date": k, **{m: _number(m, table.get((k, ""), {}).get(m)) for m in wanted}}
                for k in keys
            ]
        hit_m, sess_m = split_metrics(wanted)
        rows: dict[str, dict[str, Any]] = {}
        for part, sessions in ((hit_m, bool(scope.visit_filters)), (sess_m, True)):
            if not part:
                continue
            for k, *vals in self._run(self.sql.series(scope, interval, part, sessions=sessions)):
                rows.setdefault(k, {}).update(zip(part, vals, strict=True))
        if "conversion_rate" in wanted:
            base = self._base_visitors(scope, self.sql.bucket("h.ts", w, interval))
            for k, r in rows.items():
                r["conversion_rate"] = _rate(r.get("visitors"), base.get(k))
        out: list[dict[str, object]] = []
        for key in bucket_keys(w, interval, self.clock.now_ms()):
            found = rows.get(key, {})
            out.append({"date": key, **{m: _number(m, found.get(m)) for m in wanted}})
        return out

    def breakdown(
        self,
        q: QuerySpec,
        dimension_name: str,
        metrics: Sequence[str],
        limit: int = 10,
        page: int = 1,
    ) -> list[dict[str, object]]:
        wanted = list(check_metrics(list(metrics)))
        dim = dimension(dimension_name, "property")
        if not 1 <= limit <= MAX_LIMIT:
            raise QueryError("limit", f"limit must be between 1 and {MAX_LIMIT}")
        if page < 1:
            raise QueryError("page", "page must be 1 or more")
        if dim.name == GOAL:  # always exact, from the raw events
            return self.goals.breakdown(q, wanted, limit, page)
        self._check_revenue(wanted)
        w = self.window(q)
        bots_only = dim.name == "bot:name"
        route = self._route(q, w, dim, wanted, bots=bots_only)
        scope = self.scope(
            q, w, route, bots_only=bots_only, pageviews_only=dim.name == "event:page"
        )
        self._check_conversion(scope, wanted)
        hit_m, sess_m = split_metrics(wanted)
        sort = next((m for m in wanted if m != "conversion_rate"), "visitors")
        if route.rollups and self.fast is not None:
            quick = self.fast.breakdown(q.app.id, w, dim, wanted, sort, limit, page)
            return [{dim.short: v, **{m: _number(m, r.get(m)) for m in wanted}} for v, r in quick]
        sql = self.sql.breakdown(scope, dim, hit_m, sess_m, sort, limit, (page - 1) * limit)
        found = [dict(zip(["k", *hit_m, *sess_m], row, strict=True)) for row in self._run(sql)]
        if "conversion_rate" in wanted and found:
            base: dict[Any, Any]
            if dim.level == "visit":
                base = self._base_visitors(scope, self.sql.value(dim, "h"), [dim])
            else:
                total = self._base_visitors(scope, None).get(None)
                base = {r["k"]: total for r in found}
            for r in found:
                r["conversion_rate"] = _rate(r.get("visitors"), base.get(r["k"]))
        return [{dim.short: r["k"], **{m: _number(m, r.get(m)) for m in wanted}} for r in found]

    def funnel(self, q: QuerySpec, funnel: Funnel) -> dict[str, Any]:
        """Each step's visitors, drop-off and conversion (footfall.query.goals), exact."""
        return self.goals.funnel(q, funnel)

    def realtime_visitors(self, app: App) -> int:
        w = window("realtime", None, app.timezone, self.clock.now_ms())
        sql = self.sql.realtime(Scope(app.id, w))
        return int(self._run(sql)[0][0])


def _rate(part: Any, whole: Any) -> float:
    if not whole:
        return 0.0
    return round(100.0 * float(part or 0) / float(whole), 2)
