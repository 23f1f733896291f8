"""Answers from the rollups (written by footfall.store.rollups), and :meth:`FastPath.route`,
the one place that decides whether the rollups or the raw events answer a query.

Rollups answer whole local days (every period but realtime), no filters, bots excluded, rollups present and
in the app's current time zone, and metrics/dimensions the rollups hold. They are folded in batches
(footfall.store.rollups.feed): a query never reads them, nor the ``sessions`` table, while hits of
the app near its period wait to be folded in. With ``catch_up`` (the server's feed) the waiting hits
are folded in first; without it (the CLI, while a server writes) such a query reads raw events.
Either way every answer counts every hit stored, so totals and breakdowns agree. Counts (pageviews, events,
visits, bounce rate, visit duration, views per visit) are exact and equal the raw answers; unique
visitors are HyperLogLog estimates (exact in practice below a few hundred, ~1.6 % standard error for
the total, ~3.3 % per dimension value). A breakdown sorted by visitors ranks the top
``max(20, 2 × (offset + limit))`` values by pageviews (event dimensions) or visits (visit dimensions),
then orders those by estimated visitors.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from footfall.query.dialects import DIALECTS
from footfall.query.periods import Window, bucket_keys
from footfall.query.spec import HIT_METRICS, NONE_VALUE, SESSION_METRICS, Dim
from footfall.query.sql import SESSION_HORIZON_MS  # a session's hits this far out count too
from footfall.store.rollups import Rollups
from footfall.store.rollups.shape import SESSION_DIMS, SKETCH_DIMS, TOTAL, precision

log = logging.getLogger("footfall.query")
Unit = tuple[str, date]  # ("d" | "w" | "m", first day of the unit)


def _month_end(day: date) -> date:
    nxt = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def units(
    first: date, last: date, stale: set[tuple[str, date] | None], *, weeks: bool = True
) -> list[Unit]:
    """Cover the days first..last with the fewest usable units: whole months, whole weeks (both
    unless stale), else days."""
    out: list[Unit] = []
    day = first
    while day <= last:
        if day.day == 1 and _month_end(day) <= last and ("m", day) not in stale:
            out.append(("m", day))
            day = _month_end(day) + timedelta(days=1)
        elif (
            weeks
            and day.weekday() == 0
            and day + timedelta(days=6) <= last
            and ("w", day) not in stale
        ):
            out.append(("w", day))
            day += timedelta(days=7)
        else:
            out.append(("d", day))
            day += timedelta(days=1)
    return out


def estimate_sql(p: int) -> str:
    """HyperLogLog estimate from ``nz`` (set registers) and ``s`` (sum of 2^-rho over them),
    with linear counting for small cardinalities."""
    m = 1 << p
    alpha = 0.7213 / (1 + 1.079 / m)
    raw = f"({alpha * m * m} / (s + {m} - nz))"
    return (
        f"CASE WHEN {raw} <= {2.5 * m} AND nz < {m} THEN {m} * ln({m} / ({m} - nz)) ELSE {raw} END"
    )


def _held(dim: Dim | None, metrics: Sequence[str]) -> bool:
    """The rollups hold every metric for the dimension (None: the total)."""
    name = TOTAL if dim is None else dim.name
    hit_m = [m for m in metrics if m in HIT_METRICS]
    sess_m = [m for m in metrics if m in SESSION_METRICS]
    if len(hit_m) + len(sess_m) != len(metrics):
        return False
    if "visitors" in hit_m and name not in SKETCH_DIMS:
        return False
    if any(m != "visitors" for m in hit_m) and name != TOTAL and name not in SKETCH_DIMS:
        return False
    return not (sess_m and name not in SESSION_DIMS)


@dataclass(frozen=True)
class Route:
    """Where a query is answered from (:meth:`FastPath.route`)."""

    rollups: bool  # the rollup tables answer it whole
    sessions_table: bool  # else the raw path may read visits from the ``sessions`` table


RAW = Route(rollups=False, sessions_table=False)


class FastPath:
    """``catch_up``: folds every written hit in before a query reads the rollups (the server's
    ``RollupFeed.fold``; it waits for a fold under way)."""

    def __init__(self, rollups: Rollups, catch_up: Callable[[], object] | None = None) -> None:
        self.r = rollups
        self.store = rollups.store
        self.catch_up = catch_up
        self._meta_key: tuple[object, str] | None = None
        self._meta: tuple[dict[str, str], set[tuple[str, date] | None]] = ({}, set())

    def route(
        self,
        app_id: str,
        tz: str,
        w: Window,
        *,
        filters: Sequence[object],
        bots: bool,
        dim: Dim | None,
        metrics: Sequence[str],
        buckets: bool = True,
    ) -> Route:
        """Where a query's answer comes from. The rollups answer it when they hold the app
        whole, in its current time zone, and the query asks for whole local days (``buckets``:
        its buckets are days, weeks or months), no filters, no bots, and metrics they hold for
        the dimension. Otherwise raw events answer it, reading visits from the ``sessions``
        table when that holds every session of the app (time zone does not matter there)."""
        if not self.r.enabled or not self.folded(app_id, w):
            return RAW
        state, stale = self.meta(app_id)
        complete = app_id in state and None not in stale
        rollups = (
            complete
            and state[app_id] == tz
            and buckets
            and w.first_day is not None
            and not filters
            and not bots
            and _held(dim, metrics)
        )
        return Route(rollups=rollups, sessions_table=complete)

    def folded(self, app_id: str, w: Window) -> bool:
        """Whether the rollups (and the sessions table) hold every hit of the app that can count
        in ``w``: after ``catch_up``, or when none near the window waits to be folded in."""
        if self.catch_up is not None:
            try:
                self.catch_up()
                return True
            except Exception:  # the fold flags what failed for a rebuild; answer from raw now
                log.exception("folding waiting hits in before a query failed")
                return False
        span = self.r.unfolded(app_id)
        return (
            span is None
            or span[1] < w.start_ms - SESSION_HORIZON_MS
            or span[0] >= w.end_ms + SESSION_HORIZON_MS
        )

    def meta(self, app_id: str) -> tuple[dict[str, str], set[tuple[str, date] | None]]:
        """Rollup state and stale units, read once per store write generation (every write in
        this process goes through ``store.write``, which counts them)."""
        key = (self.store.generation, app_id)
        if self._meta_key != key:
            self._meta = (self.r.state(), self.r.dirty_days(app_id))
            self._meta_key = key
        return self._meta

    # -- pieces -----------------------------------------------------------------------------
    def visitors(
        self,
        app_id: str,
        dim: str,
        keyed_units: list[tuple[Unit, str]],
        values: list[str] | None = None,
    ) -> dict[tuple[str, str], int]:
        """Estimated unique visitors per (key, value) over the given units (each with its key)."""
        if not keyed_units:
            return {}
        days = [u[1] for u, _ in keyed_units]
        value = _value(dim, "h.value")
        sql = (
            "WITH u AS (SELECT unnest(?) AS unit, unnest(?::DATE[]) AS day, unnest(?) AS k),"
            f" r AS (SELECT u.k, {value} AS value, h.reg, max(h.rho) AS rho FROM rollup_hll h"
            " JOIN u ON u.unit = h.unit AND u.day = h.day"
            " WHERE h.app_id = ? AND h.dim = ? AND h.day >= ? AND h.day <= ?"
        )
        params: list[Any] = [
            [u[0] for u, _ in keyed_units],
            days,
            [k for _, k in keyed_units],
            app_id,
            dim,
            min(days),
            max(days),
        ]
        if values is not None:  # bound one by one: the scan can use them to skip row groups
            if not values:
                return {}
            sql += f" AND {value} IN ({', '.join('?' for _ in values)})"
            params.extend(values)
        sql += (
            " GROUP BY 1, 2, 3), e AS (SELECT k, value, count(*) AS nz,"
            " sum(pow(2.0, -rho)) AS s FROM r GROUP BY 1, 2)"
            f" SELECT k, value, {estimate_sql(precision(dim))} FROM e"
        )
        return {(k, v): int(round(est)) for k, v, est in self.store.answer(sql, params)}

    def counts(
        self, table: str, app_id: str, dim: str, w: Window, key: str
    ) -> dict[tuple[str, str], dict[str, Any]]:
        """Exact sums per (bucket key, value) from rollup_hits or rollup_sessions."""
        assert table in ("rollup_hits", "rollup_sessions")
        cols = (
            "sum(pageviews), sum(events)"
            if table == "rollup_hits"
            else "sum(visits), sum(bounces), round(sum(duration), 3), sum(pageviews)"
        )
        # session rows are signed deltas: a value every session has left sums to no visits
        having = "" if table == "rollup_hits" else " HAVING sum(visits) <> 0"
        names = (
            ["pageviews", "events"]
            if table == "rollup_hits"
            else ["visits", "bounces", "duration", "s_pageviews"]
        )
        keys = {
            "all": "''",
            "day": "strftime(day, '%Y-%m-%d')",
            "week": "strftime(date_trunc('week', day), '%Y-%m-%d')",
            "month": "strftime(date_trunc('month', day), '%Y-%m-%d')",
        }
        rows = self.store.answer(
            f"SELECT {keys[key]}, {_value(dim, 'value')}, {cols} FROM {table}"
            " WHERE app_id = ? AND dim = ?"
            " AND day >= ? AND day <= ? GROUP BY 1, 2" + having,
            [app_id, dim, w.first_day, w.last_day],
        )
        return {(k, v): dict(zip(names, vals, strict=True)) for k, v, *vals in rows}

    def keyed_units(self, app_id: str, w: Window, interval: str) -> list[tuple[Unit, str]]:
        """Units covering the window, each with the bucket key it belongs to."""
        assert w.first_day is not None and w.last_day is not None
        dirty = self.meta(app_id)[1]
        if interval == "all":
            return [(u, "") for u in units(w.first_day, w.last_day, dirty)]
        out: list[tuple[Unit, str]] = []
        for key in bucket_keys(w, interval, 0):
            first = max(date.fromisoformat(key), w.first_day)
            if interval == "day":
                last = first
            elif interval == "week":
                last = date.fromisoformat(key) + timedelta(days=6)
            else:
                last = _month_end(date.fromisoformat(key))
            last = min(last, w.last_day)
            out += [(u, key) for u in units(first, last, dirty, weeks=interval != "month")]
        return out

    # -- whole answers ----------------------------------------------------------------------
    def table(
        self, app_id: str, w: Window, dim: Dim | None, metrics: list[str], key: str
    ) -> dict[tuple[str, str], dict[str, Any]]:
        """Every metric per (bucket key, value), for a query :meth:`route` sent here."""
        name = TOTAL if dim is None else dim.name
        hit_m = [m for m in metrics if m in HIT_METRICS]
        sess_m = [m for m in metrics if m in SESSION_METRICS]
        out: dict[tuple[str, str], dict[str, Any]] = {}
        if any(m in ("pageviews", "events") for m in hit_m):
            for k, v in self.counts("rollup_hits", app_id, name, w, key).items():
                out.setdefault(k, {}).update(v)
        if sess_m:
            for k, v in self.counts("rollup_sessions", app_id, name, w, key).items():
                out.setdefault(k, {}).update(v)
        if "visitors" in hit_m:
            for k, n in self.visitors(app_id, name, self.keyed_units(app_id, w, key)).items():
                out.setdefault(k, {})["visitors"] = n
        return {k: finish(v, metrics) for k, v in out.items()}

    def breakdown(
        self,
        app_id: str,
        w: Window,
        dim: Dim,
        metrics: list[str],
        sort: str,
        limit: int,
        offset: int = 0,
    ) -> tuple[list[tuple[str, dict[str, Any]]], int]:
        """Rows (value, metrics) best first from the ``offset``-th, for a query :meth:`route`
        sent here, and how many values there are in all."""
        name = dim.name
        hit_m = [m for m in metrics if m in ("pageviews", "events")]
        sess_m = [m for m in metrics if m in SESSION_METRICS]
        # the ranking proxy is an exact count every value with a hit in the window has
        proxy = (
            "pageviews" if name == "event:page" else "events" if name in SKETCH_DIMS else "visits"
        )
        sums: dict[str, dict[str, Any]] = {}
        if hit_m or proxy != "visits":
            for (_, v), row in self.counts("rollup_hits", app_id, name, w, "all").items():
                sums.setdefault(v, {}).update(row)
        if sess_m or proxy == "visits":
            for (_, v), row in self.counts("rollup_sessions", app_id, name, w, "all").items():
                sums.setdefault(v, {}).update(row)
        if not hit_m and "visitors" not in metrics:  # visit metrics only: values with visits
            sums = {v: row for v, row in sums.items() if row.get("visits")}
        rows = {v: finish(row, [*metrics, proxy]) for v, row in sums.items()}
        total = len(rows)
        want = offset + limit
        if "visitors" in metrics:
            if sort == "visitors":
                ranked = sorted(rows, key=lambda v: (-rows[v][proxy], v))
                values = ranked[: max(20, 2 * want)]
            else:
                values = sorted(rows, key=lambda v: (-rows[v][sort], v))[:want]
            found = self.visitors(app_id, name, self.keyed_units(app_id, w, "all"), values)
            rows = {v: rows[v] for v in values}
            for v in values:
                rows[v]["visitors"] = found.get(("", v), 0)
        best = sorted(rows, key=lambda v: (-rows[v][sort], v))[offset:want]
        return [(v, {m: rows[v][m] for m in metrics}) for v in best], total


def _value(dim: str, column: str) -> str:
    """A rollup row's value as the raw path shows it (footfall.query.sql.CoreBuilder.value): the
    referrer is grouped by host and path, its rows of one merged in one sum or sketch."""
    if dim != "visit:referrer":
        return column
    label = DIALECTS["duckdb"].referrer.format(x=column)
    return f"coalesce(nullif({label}, ''), '{NONE_VALUE}')"


def finish(v: dict[str, Any], metrics: list[str]) -> dict[str, Any]:
    """Turn sums into the metrics, rounded like the SQL of the raw path."""
    visits = int(v.get("visits") or 0)
    out: dict[str, Any] = {}
    for m in metrics:
        if m in ("visitors", "pageviews", "events", "visits"):
            out[m] = int(v.get(m) or 0)
        elif m == "bounce_rate":
            out[m] = _round(100.0 * int(v.get("bounces") or 0) / visits) if visits else 0
        elif m == "visit_duration":
            out[m] = _round(float(v.get("duration") or 0) / visits) if visits else 0
        elif m == "views_per_visit":
            out[m] = _round(int(v.get("s_pageviews") or 0) / visits, 2) if visits else 0.0
    return out


def _round(x: float, digits: int = 0) -> Any:
    """Half away from zero, as SQL's round()."""
    f = 10**digits
    r = math.floor(abs(x) * f + 0.5) / f
    r = math.copysign(r, x)
    return int(r) if digits == 0 else r
