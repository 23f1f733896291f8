"""The dashboard set as hand-written SQL, for two layouts of the same hits and two dialects.

Layouts:
- ``raw``: footfall's ``events`` columns as they are (text ids; a hit's visit attributes are its
  session's first hit's, found by grouping the window's hits by session).
- ``flat``: the proposal of issue 24 (bench/layout.py): the session's attributes written on every
  hit, fixed at its first hit, 64-bit integer ids, empty strings instead of NULL, so every filter is
  a plain predicate on one column and no query joins or groups hits to find a session.

Dialects: ``duckdb`` and ``clickhouse`` (chDB). Values are the benchmark's own constants written
as literals (chDB's Python API binds no parameters); nothing here comes from outside.

The set is the one bench/query.py times through the QueryEngine: totals with the previous period,
the daily series, top-10 pages (visitors, pageviews) and top-10 sources, countries, browsers, OS
and devices (visitors), each under the same filter. Semantics follow docs/query.md: visit filters
and visit dimensions use the session's first hit; an event filter keeps the matching hits, and
the sessions (visits) with at least one of them.
"""

from __future__ import annotations

from dataclasses import dataclass

from footfall.query.spec import NONE_VALUE, parse_filters

VISIT_BREAKDOWNS = ["source", "country", "browser", "os", "device"]
PANELS = ["aggregate", "timeseries", "event:page", *(f"visit:{d}" for d in VISIT_BREAKDOWNS)]


@dataclass(frozen=True)
class Dialect:
    distinct: str  # visitors: {x} the id column
    count_if: str
    bool_or: str
    arg_min: str
    any: str
    day: str
    seconds: str  # {a} - {b} in seconds
    uuid: str  # an app id literal {x} on the flat layout


DUCKDB = Dialect(
    distinct="count(DISTINCT {x})",
    count_if="count(*) FILTER (WHERE {c})",
    bool_or="bool_or({c})",
    arg_min="arg_min({x}, {y})",
    any="any_value({x})",
    day="CAST({t} AS DATE)",
    seconds="(epoch({a}) - epoch({b}))",
    uuid="'{x}'",
)
CLICKHOUSE = Dialect(
    distinct="uniqExact({x})",
    count_if="countIf({c})",
    bool_or="max({c})",
    arg_min="argMin({x}, {y})",
    any="any({x})",
    day="toDate({t})",
    seconds="(dateDiff('millisecond', {b}, {a}) / 1000)",
    uuid="toUUID('{x}')",
)


@dataclass(frozen=True)
class Target:
    """One engine's table: layout, dialect, table name, and how visitors are counted
    (``approx``: DuckDB's approx_count_distinct, ClickHouse's uniq)."""

    layout: str  # raw | flat
    dialect: str  # duckdb | clickhouse
    table: str = "events"
    approx: bool = False

    @property
    def d(self) -> Dialect:
        return DUCKDB if self.dialect == "duckdb" else CLICKHOUSE

    def distinct(self, x: str) -> str:
        if self.approx:
            return (
                "approx_count_distinct({x})" if self.dialect == "duckdb" else "uniq({x})"
            ).format(x=x)
        return self.d.distinct.format(x=x)

    def text(self, col: str) -> str:
        """A text column as stored: the raw DuckDB table keeps NULLs, the others ''."""
        return f"coalesce({col}, '')" if self.layout == "raw" and self.dialect == "duckdb" else col


@dataclass(frozen=True)
class Window:
    app_id: str
    start: str  # 'YYYY-MM-DD HH:MM:SS' (UTC)
    end: str
    prev: str  # the previous period's start


def _quote(value: str) -> str:
    """A literal for either dialect: the benchmark's own constants, without quotes or backslashes
    (which the two dialects escape differently)."""
    assert "'" not in value and "\\" not in value, value
    return f"'{value}'"


PAGEVIEW = "event = 'pageview'"


def conditions(t: Target, filters: str) -> tuple[list[str], list[str], list[str]]:
    """(visit columns, visit conditions, event conditions) for footfall's filter text: only ==
    with alternatives and ``**`` page globs, as the benchmark uses. On the raw layout a visit
    condition names the sessions' ``a_<column>``; on the flat one the hit's own column."""
    cols, visit, event = [], [], []
    for f in parse_filters(filters):
        assert f.op == "==", f
        kind, name = f.dimension.split(":", 1)
        col = "path" if f.dimension == "event:page" else name
        if kind == "visit":
            cols.append(col)
            if t.layout == "raw":
                col = "a_" + col
        alts = []
        for alt in f.alternatives:
            if "*" in alt:
                alts.append(f"{col} LIKE {_quote(alt.replace('**', '%'))}")
            else:
                alts.append(f"{col} = {_quote('' if alt == NONE_VALUE else alt)}")
        (visit if kind == "visit" else event).append("(" + " OR ".join(alts) + ")")
    return cols, visit, event


class Dashboard:
    """The statements of each panel of the set, for one target, window and filter."""

    def __init__(self, t: Target, w: Window, filters: str = "") -> None:
        self.t, self.w = t, w
        self.visit_cols, self.visit, self.event = conditions(t, filters)

    def where(self, lo: str, hi: str) -> str:
        t = self.t
        app = t.d.uuid.format(x=self.w.app_id) if t.layout == "flat" else _quote(self.w.app_id)
        return f"app_id = {app} AND ts >= '{lo}' AND ts < '{hi}' AND {t.text('bot')} = ''"

    # -- the raw layout: sessions from the window's hits ------------------------------------
    def sessions(self, lo: str, hi: str, attrs: list[str]) -> str:
        """One row per session with hits in the window: its visitor, measures, first-hit
        attributes (``attrs`` and the visit filters' columns) and whether a hit matched the event
        filters (``matched``)."""
        d, t = self.t.d, self.t
        cols = [
            f"{d.any.format(x='visitor_id')} AS vid",
            "min(ts) AS started",
            "max(ts) AS ended",
            "count(*) AS n",
            d.count_if.format(c=PAGEVIEW) + " AS pv",
        ]
        needed = dict.fromkeys(attrs + self.visit_cols)
        cols += [f"{d.arg_min.format(x=t.text(a), y='ts')} AS a_{a}" for a in needed]
        if self.event:
            cols.append(d.bool_or.format(c=" AND ".join(self.event)) + " AS matched")
        return (
            f"SELECT session_id, {', '.join(cols)} FROM {t.table}"
            f" WHERE {self.where(lo, hi)} GROUP BY session_id"
        )

    def session_filter(self) -> str:
        conds = list(self.visit) + (["matched"] if self.event else [])
        return " WHERE " + " AND ".join(conds) if conds else ""

    def hits_where(self, lo: str, hi: str) -> str:
        """The hits a hit metric counts: in the window, passing the event filters, of a session
        that passes the visit filters."""
        out = self.where(lo, hi)
        out += "".join(f" AND {c}" for c in self.event)
        if self.t.layout == "flat":
            out += "".join(f" AND {c}" for c in self.visit)
        elif self.visit:
            sess = self.sessions(lo, hi, [])
            out += (
                f" AND session_id IN (SELECT session_id FROM ({sess}) s"
                f" WHERE {' AND '.join(self.visit)})"
            )
        return out

    def visits(self, lo: str, hi: str) -> str:
        """Per session: measures; on the flat layout the visit filters are on every hit."""
        t, d = self.t, self.t.d
        if t.layout == "raw":
            return f"SELECT * FROM ({self.sessions(lo, hi, [])}) s{self.session_filter()}"
        cols = [
            "min(ts) AS started",
            "max(ts) AS ended",
            "count(*) AS n",
            d.count_if.format(c=PAGEVIEW) + " AS pv",
        ]
        if self.event:
            cols.append(d.bool_or.format(c=" AND ".join(self.event)) + " AS matched")
        where = self.where(lo, hi) + "".join(f" AND {c}" for c in self.visit)
        inner = (
            f"SELECT session_id, {', '.join(cols)} FROM {t.table} WHERE {where} GROUP BY session_id"
        )
        return f"SELECT * FROM ({inner}) s" + (" WHERE matched" if self.event else "")

    # -- the panels -------------------------------------------------------------------------
    def totals(self, lo: str, hi: str) -> str:
        t, d = self.t, self.t.d
        bounces = d.count_if.format(c="n = 1 AND pv = 1")
        secs = d.seconds.format(a="ended", b="started")
        return (
            f"SELECT * FROM (SELECT {t.distinct('visitor_id')} AS visitors,"
            f" {d.count_if.format(c=PAGEVIEW)} AS pageviews FROM {t.table}"
            f" WHERE {self.hits_where(lo, hi)}) a,"
            f" (SELECT count(*) AS visits, round(100.0 * {bounces} / count(*)) AS bounce_rate,"
            f" round(avg({secs})) AS visit_duration FROM ({self.visits(lo, hi)}) v) b"
        )

    def series(self) -> str:
        t, d = self.t, self.t.d
        return (
            f"SELECT {d.day.format(t='ts')} AS k, {t.distinct('visitor_id')} AS visitors,"
            f" {d.count_if.format(c=PAGEVIEW)} AS pageviews FROM {t.table}"
            f" WHERE {self.hits_where(self.w.start, self.w.end)} GROUP BY k"
        )

    def pages(self) -> str:
        t = self.t
        return (
            f"SELECT path AS k, {t.distinct('visitor_id')} AS visitors, count(*) AS pageviews"
            f" FROM {t.table} WHERE {self.hits_where(self.w.start, self.w.end)}"
            " AND event = 'pageview' GROUP BY k ORDER BY visitors DESC, k LIMIT 10"
        )

    def visit_breakdown(self, col: str) -> str:
        t = self.t
        lo, hi = self.w.start, self.w.end
        if t.layout == "flat":
            return (
                f"SELECT {col} AS k, {t.distinct('visitor_id')} AS visitors FROM {t.table}"
                f" WHERE {self.hits_where(lo, hi)} GROUP BY k ORDER BY visitors DESC, k LIMIT 10"
            )
        # visitors of the sessions that pass (each session's hits are its visitor's)
        return (
            f"SELECT a_{col} AS k, {t.distinct('vid')} AS visitors FROM"
            f" ({self.sessions(lo, hi, [col])}) s{self.session_filter()}"
            " GROUP BY k ORDER BY visitors DESC, k LIMIT 10"
        )

    def panels(self) -> dict[str, list[str]]:
        w = self.w
        out = {
            "aggregate": [self.totals(w.start, w.end), self.totals(w.prev, w.start)],
            "timeseries": [self.series()],
            "event:page": [self.pages()],
        }
        for col in VISIT_BREAKDOWNS:
            out[f"visit:{col}"] = [self.visit_breakdown(col)]
        return out


def normalise(panel: str, rows: list[tuple]) -> object:
    """Answers in one shape for every engine (the QueryEngine's too: see ``from_engine``)."""
    if panel == "aggregate":
        v, pv, visits, bounce, dur = rows[0]
        return {
            "visitors": int(v),
            "pageviews": int(pv),
            "visits": int(visits),
            "bounce_rate": int(bounce or 0),
            "visit_duration": int(dur or 0),
        }
    if panel == "timeseries":
        return {str(k): (int(v), int(p)) for k, v, p in rows if v}
    return [(k or NONE_VALUE, *(int(x) for x in rest)) for k, *rest in rows]


def from_engine(answers: dict[str, object]) -> dict[str, object]:
    """bench/query.py's ``dashboard()`` result in ``normalise``'s shape."""
    agg = answers["aggregate"]
    out: dict[str, object] = {
        "aggregate": {
            m: agg[m]["value"]
            for m in ("visitors", "pageviews", "visits", "bounce_rate", "visit_duration")
        }  # type: ignore[index]
    }
    out["timeseries"] = {
        r["date"]: (r["visitors"], r["pageviews"])
        for r in answers["timeseries"]  # type: ignore[union-attr]
        if r["visitors"]
    }
    for panel in PANELS[2:]:
        rows = answers[panel]
        short = panel.split(":")[1]
        key = "page" if panel == "event:page" else short
        out[panel] = [
            (r[key], r["visitors"], *([r["pageviews"]] if "pageviews" in r else []))
            for r in rows  # type: ignore[union-attr]
        ]
    return out
