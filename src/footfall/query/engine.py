"""QueryEngine: aggregate, timeseries, breakdown, grouped and realtime answers for one app.

Every call validates its input (QueryError names the parameter), works out the UTC window from the
app's time zone, and runs SQL built by ``footfall.query.builder`` on the store (or reads the
rollups, footfall.query.fast). Goals and funnels (footfall.query.goals), the v2 API's grouped
queries (footfall.query.grouped) and time on page (footfall.query.time_on_page) are answered in
modules of their own, through the engine's methods.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from footfall.clock import Clock
from footfall.model import App, Funnel, Goal
from footfall.query.builder import Builder
from footfall.query.fast import RAW, FastPath, Route
from footfall.query.goals import GoalQueries, check_goal_filters
from footfall.query.grouped import GroupedQueries, Row
from footfall.query.numbers import Number, change, number, rate
from footfall.query.periods import (
    Window,
    bucket_keys,
    default_interval,
    local_day,
    previous,
    window,
    zone,
)
from footfall.query.spec import (
    GOAL,
    INTERVALS,
    MAX_LIMIT,
    REVENUE_METRICS,
    Dim,
    QueryError,
    QuerySpec,
    check_filter,
    check_metrics,
    dimension,
)
from footfall.query.sql import Scope, Sql, split_metrics
from footfall.query.time_on_page import TimeOnPage
from footfall.store.base import Store
from footfall.store.rollups import Rollups


class QueryEngine:
    """``use_rollups=False`` answers everything from raw hits (the reference the rollups are
    tested and benchmarked against). ``catch_up`` folds hits still waiting for the rollups in
    before they are read (the server passes its feed's ``fold``; see footfall.query.fast)."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        use_rollups: bool = True,
        catch_up: Callable[[], object] | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.sql = Builder(store.dialect)
        rollups = Rollups(store, lambda _: None, create=False)
        self.fast = FastPath(rollups, catch_up) if use_rollups else None
        self.goals = GoalQueries(self)
        self.grouping = GroupedQueries(self)
        self.page_times = TimeOnPage(self)

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
            check_filter(f)
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

    def _totals(self, scope: Scope, metrics: list[str]) -> dict[str, Number]:
        hit_m, sess_m = split_metrics(metrics)
        row = self._run(self.sql.totals(scope, hit_m, sess_m))[0]
        values = dict(zip(hit_m + sess_m, row, strict=True))
        if "conversion_rate" in metrics:
            base = self._base_visitors(scope, None)
            values["conversion_rate"] = rate(values["visitors"], base.get(None))
        return {m: number(m, values.get(m)) for m in metrics}

    def _totals_any(self, q: QuerySpec, w: Window, metrics: list[str]) -> dict[str, Number]:
        route = self._route(q, w, None, metrics)
        if route.rollups and self.fast is not None:
            row = self.fast.table(q.app.id, w, None, metrics, "all").get(("", ""), {})
            return {m: number(m, row.get(m)) for m in metrics}
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
        counted = [m for m in wanted if m != "time_on_page"]
        w = self.window(q)
        scope = self.scope(q, w, self._route(q, w, None, counted))
        self._check_conversion(scope, wanted)
        self.page_times.check(q, wanted, None)

        def totals(w: Window) -> dict[str, Number]:
            out: dict[str, Number] = dict(self._totals_any(q, w, counted)) if counted else {}
            if "time_on_page" in wanted:
                out["time_on_page"] = self.page_times.seconds(q, w, False).get(None)
            return out

        now = totals(w)
        out: dict[str, dict[str, float | int | None]] = {m: {"value": now[m]} for m in wanted}
        if compare:
            before = totals(previous(w, q.period))
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
        if "time_on_page" in wanted:
            raise QueryError(
                "metrics", "time_on_page is answered per period or page, not per bucket"
            )
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
                {"date": k, **{m: number(m, table.get((k, ""), {}).get(m)) for m in wanted}}
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
                r["conversion_rate"] = rate(r.get("visitors"), base.get(k))
        out: list[dict[str, object]] = []
        for key in bucket_keys(w, interval, self.clock.now_ms()):
            found = rows.get(key, {})
            out.append({"date": key, **{m: number(m, found.get(m)) for m in wanted}})
        return out

    def breakdown(
        self,
        q: QuerySpec,
        dimension_name: str,
        metrics: Sequence[str],
        limit: int = 10,
        page: int = 1,
    ) -> list[dict[str, object]]:
        """Metrics per value of a dimension, best first by the first metric (values ascending
        for ties); ``page`` counts from 1."""
        if page < 1:
            raise QueryError("page", "page must be 1 or more")
        return self._breakdown(q, dimension_name, metrics, limit, (page - 1) * limit)[0]

    def _breakdown(
        self,
        q: QuerySpec,
        dimension_name: str,
        metrics: Sequence[str],
        limit: int,
        offset: int,
        sort: str | None = None,
    ) -> tuple[list[dict[str, object]], int | None]:
        """:meth:`breakdown` from the ``offset``-th row, sorted by ``sort`` (default: the first
        metric); also the number of values in all when the rollups answered (else None)."""
        wanted = list(check_metrics(list(metrics)))
        counted = [m for m in wanted if m != "time_on_page"] or ["pageviews"]
        dim = dimension(dimension_name, "property")
        if not 1 <= limit <= MAX_LIMIT:
            raise QueryError("limit", f"limit must be between 1 and {MAX_LIMIT}")
        if dim.name == GOAL:  # always exact, from the raw events
            return self.goals.breakdown(q, wanted, limit, offset // limit + 1), None
        self._check_revenue(wanted)
        w = self.window(q)
        bots_only = dim.name == "bot:name"
        route = self._route(q, w, dim, counted, bots=bots_only)
        scope = self.scope(
            q, w, route, bots_only=bots_only, pageviews_only=dim.name == "event:page"
        )
        self._check_conversion(scope, wanted)
        self.page_times.check(q, wanted, dim)
        hit_m, sess_m = split_metrics(counted)
        sort = sort or next((m for m in counted if m != "conversion_rate"), "visitors")
        found: list[dict[str, Any]]
        total = None
        if route.rollups and self.fast is not None:
            quick, total = self.fast.breakdown(q.app.id, w, dim, counted, sort, limit, offset)
            found = [{"k": v, **r} for v, r in quick]
        else:
            found = self._raw_breakdown(scope, dim, counted, hit_m, sess_m, sort, limit, offset)
        if "time_on_page" in wanted:
            times = self.page_times.seconds(q, w, True)
            for r in found:
                r["time_on_page"] = times.get(r["k"])
        rows = [{dim.short: r["k"], **{m: number(m, r.get(m)) for m in wanted}} for r in found]
        return rows, total

    def _raw_breakdown(
        self,
        scope: Scope,
        dim: Dim,
        wanted: list[str],
        hit_m: list[str],
        sess_m: list[str],
        sort: str,
        limit: int,
        offset: int,
    ) -> list[dict[str, Any]]:
        sql = self.sql.breakdown(scope, dim, hit_m, sess_m, sort, limit, offset)
        found = [dict(zip(["k", *hit_m, *sess_m], row, strict=True)) for row in self._run(sql)]
        if "conversion_rate" in wanted and found:
            base: dict[Any, Any]
            if dim.level == "visit":
                base = self._base_visitors(scope, self.sql.value(dim, "h"), [dim])
            else:
                total = self._base_visitors(scope, None).get(None)
                base = {r["k"]: total for r in found}
            for r in found:
                r["conversion_rate"] = rate(r.get("visitors"), base.get(r["k"]))
        return found

    def first_day(self, app: App) -> date | None:
        """The local day of the app's first stored hit (bots aside), if it has any."""
        found = self._run(self.sql.first_hit(app.id))[0][0]
        if found is None:
            return None
        return local_day(int(found), zone(app.timezone or "UTC"))

    def funnel(self, q: QuerySpec, funnel: Funnel) -> dict[str, Any]:
        """Each step's visitors, drop-off and conversion (footfall.query.goals), exact."""
        return self.goals.funnel(q, funnel)

    def realtime_visitors(self, app: App) -> int:
        """Unique visitors who viewed a page in the last five minutes (Plausible's current
        visitors: custom events alone do not make a visitor current)."""
        w = window("realtime", None, app.timezone, self.clock.now_ms())
        sql = self.sql.realtime(Scope(app.id, w, pageviews_only=True))
        return int(self._run(sql)[0][0])

    # -- grouped (the v2 API's queries) -----------------------------------------------------
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
        and with ``total`` how many rows there are in all (footfall.query.grouped)."""
        return self.grouping.grouped(q, metrics, keys, order, limit, offset, total)
