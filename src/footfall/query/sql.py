"""Query SQL, for every dialect: its core here, goals and grouped queries in the modules beside it.

Dialect differences live in the small ``DIALECTS`` table (footfall.query.dialects); everything
else is shared. Identifiers come only from the allow-lists in ``footfall.query.spec`` (dimension
columns, metric names); every value a user supplied is bound as a ``?`` parameter, in the order
the text is built.

``CoreBuilder`` holds values, conditions, the WITH clause, the aggregates and the statements of
the totals, series and breakdowns; goals and funnels are ``footfall.query.sql_goals``, the v2
API's grouped queries and time on page ``footfall.query.sql_grouped``, and
``footfall.query.builder.Builder`` is all of them together, the one the engine uses.

Semantics (see docs/query.md): hit metrics (visitors, pageviews, events) count the hits inside the
window; a session is attributed to the window holding its first hit, and its measures (bounce,
duration, pages per visit, entry/exit page and every visit:* attribute) come from all its hits
(looked for up to ``SESSION_HORIZON`` outside the window).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from footfall.model import Goal
from footfall.query.dialects import dialect
from footfall.query.periods import Window, as_utc, utc_offsets
from footfall.query.predicates import BARE_OPS, like_pattern, match
from footfall.query.spec import (
    GOAL,
    NEGATED_OPS,
    NONE_VALUE,
    SESSION_METRICS,
    Dim,
    Filter,
    dimension,
    prop_key,
    wildcard_regex,
)
from footfall.query.sql_text import Sql

SESSION_HORIZON_MS = 86_400_000


@dataclass(frozen=True)
class Scope:
    """The rows one query looks at: an app, a window, bots or not, and the filters."""

    app_id: str
    window: Window
    filters: tuple[Filter, ...] = ()
    include_bots: bool = False
    bots_only: bool = False
    pageviews_only: bool = False  # the page breakdown looks at pageviews only
    sessions_table: bool = (
        False  # read sessions from the materialised table (footfall.store.rollups)
    )
    goals: tuple[Goal, ...] = ()  # the app's goals, when a filter or breakdown needs them

    @property
    def visit_filters(self) -> tuple[Filter, ...]:
        return tuple(f for f in self.filters if dimension(f.dimension, "filters").level == "visit")

    @property
    def event_filters(self) -> tuple[Filter, ...]:
        return tuple(f for f in self.filters if dimension(f.dimension, "filters").level == "event")


def _visit_column(dim: Dim) -> str:
    return "v_" + dim.short


class CoreBuilder:
    """Builds the WITH clause (sessions, hits, visits) and the aggregate queries over it.

    ``event:goal`` filters are the goals' (``footfall.query.sql_goals.GoalBuilder.condition``)."""

    def __init__(self, dialect_name: str) -> None:
        self.d = dialect(dialect_name)

    # -- expressions ------------------------------------------------------------------------
    def value(self, dim: Dim, alias: str, visit_alias: str | None = None) -> Sql:
        """A dimension's value on a row of events/hits (``alias``); visit dimensions are read from
        the session columns (``visit_alias``, default the same row)."""
        if dim.level == "visit":
            col = f"{visit_alias or alias}.{_visit_column(dim)}"
            if dim.name == "visit:referrer":  # shown and grouped as Plausible does: host/path
                col = self.d.referrer.format(x=col)
            return Sql(f"coalesce(nullif({col}, ''), '{NONE_VALUE}')")
        if dim.column == "props":
            return Sql(
                "coalesce(nullif(" + self.d.prop.format(m=f"{alias}.props", key="?") + ", ''), "
                f"'{NONE_VALUE}')",
                [prop_key(dim)],
            )
        return Sql(f"coalesce(nullif({alias}.{dim.column}, ''), '{NONE_VALUE}')")

    def column(self, dim: Dim, alias: str, visit_alias: str | None = None) -> Sql:
        """A dimension's bare column (visit dimensions: the session columns of ``visit_alias``,
        default the same row; a custom property: its lookup in the props map)."""
        if dim.level == "visit":
            return Sql(f"{visit_alias or alias}.{_visit_column(dim)}")
        if dim.column == "props":
            return Sql(self.d.prop.format(m=f"{alias}.props", key="?"), [prop_key(dim)])
        return Sql(f"{alias}.{dim.column}")

    def condition(
        self,
        f: Filter,
        alias: str,
        visit_alias: str | None = None,
        goals: Sequence[Goal] = (),
    ) -> Sql:
        """The filter on a row of events/hits (``alias``; visit dimensions as in :meth:`value`).
        ``goals`` (the app's) are for an ``event:goal`` filter, which GoalBuilder answers."""
        dim = dimension(f.dimension, "filters")
        if f.op in BARE_OPS and f.case_sensitive and dim.name != "visit:referrer":
            # on the bare column, so the engine can push it into its scan (query.predicates)
            return match(self.d, self.column(dim, alias, visit_alias), f.op, f.alternatives)
        expr = self.value(dim, alias, visit_alias)
        fold = not f.case_sensitive and f.op not in ("matches", "matches_not")
        if fold:
            expr = Sql(f"lower({expr.text})", expr.params)
        out = Sql("(")
        for i, alt in enumerate(f.alternatives):
            if i:
                out.add(" OR ")
            if fold:
                alt = alt.lower()
            if f.op in ("~", "!~"):
                out.add(self.d.contains.format(x=expr.text, p="?"), *expr.params, alt)
            elif f.op in ("matches", "matches_not"):
                out.add(self.d.matches.format(x=expr.text, p="?"), *expr.params, alt)
            elif f.op in ("is", "is_not"):
                out.add(f"{expr.text} = ?", *expr.params, alt)
            elif "*" in alt and "*" not in alt.replace("**", ""):  # only **: a LIKE pattern
                out.add(self.d.like.format(x=expr.text, p="?"), *expr.params, like_pattern(alt))
            elif "*" in alt:
                out.add(
                    self.d.full_match.format(x=expr.text, p="?"), *expr.params, wildcard_regex(alt)
                )
            else:
                out.add(f"{expr.text} = ?", *expr.params, alt)
        out.add(")")
        if f.op in NEGATED_OPS:
            return Sql("NOT ").extend(out)
        return out

    def bot_condition(self, scope: Scope, alias: str) -> str:
        if scope.bots_only:
            return f" AND coalesce({alias}.bot, '') <> ''"
        if scope.include_bots:
            return ""
        return f" AND coalesce({alias}.bot, '') = ''"

    def local_time(self, column: str, w: Window) -> Sql:
        """UTC ``column`` shifted into the app's local time (offsets bound, one per DST change)."""
        offsets = utc_offsets(w)
        if len(offsets) == 1:
            return Sql(self.d.shift_seconds.format(ts=column, s="?"), [offsets[0][1]])
        case = Sql("CASE")
        for (_, seconds), (nxt, _) in zip(offsets, offsets[1:], strict=False):
            case.add(f" WHEN {column} < ? THEN ?", as_utc(nxt), seconds)
        case.add(" ELSE ? END", offsets[-1][1])
        return Sql(self.d.shift_seconds.format(ts=column, s=case.text), case.params)

    def bucket(self, column: str, w: Window, interval: str) -> Sql:
        local = self.local_time(column, w)
        return Sql(self.d.bucket[interval].format(t=local.text), local.params)

    # -- the WITH clause --------------------------------------------------------------------
    def with_clause(
        self,
        scope: Scope,
        visit_dims: list[Dim],
        *,
        sessions: bool,
        event_filters: bool = True,
        groups: tuple[Dim, ...] = (),
        extra: Sequence[str] = (),
    ) -> Sql:
        """``sess`` (sessions touching the window that pass the visit filters), ``hits`` (hits in
        the window of such sessions that pass the event filters) and ``visits`` (those sessions
        that started in the window). ``sess`` is computed from raw hits, or read from the
        materialised ``sessions`` table when ``scope.sessions_table``."""
        w = scope.window
        start, end = as_utc(w.start_ms), as_utc(w.end_ms)
        out = Sql("WITH ")
        needed = {
            d.short: d
            for d in [*visit_dims, *(dimension(f.dimension) for f in scope.visit_filters)]
        }
        if sessions:
            if scope.sessions_table:
                cols = ["session_id", "started", "ended", "s_pageviews", "s_hits"]
                cols += [_visit_column(d) for d in needed.values()]
                out.add(
                    f"sess AS (SELECT {', '.join(cols)} FROM sessions s WHERE s.app_id = ?",
                    scope.app_id,
                )
                out.add(" AND s.ended >= ? AND s.started < ?", start, end)
                out.add(self.bot_condition(scope, "s"))
            else:
                out.add("sess AS (SELECT * FROM (").extend(self._sessions_from_hits(scope, needed))
                out.add(") s WHERE TRUE")
            for f in scope.visit_filters:
                out.add(" AND ").extend(self.condition(f, "s"))
            out.add("), ")
        cols = ["visitor_id", "session_id", "event", "ts", "path", "hostname", "bot"]
        for group in groups:
            if group.level == "event" and group.name != GOAL:
                extra = [*extra, group.column]  # props, title (any hit column grouped on)
        if any(f.dimension == GOAL for f in scope.event_filters):
            extra = [*extra, "props"]  # goals may match properties
        cols += [c for c in dict.fromkeys(extra) if c not in cols]  # names from our own code
        out.add("hits AS (SELECT " + ", ".join(f"h.{c}" for c in cols))
        # the hits carry only the session columns grouped on, and join ``sess`` only to read
        # them or to keep the sessions of the visit filters (a session is one row of ``sess``)
        grouped = {d.short: d for d in visit_dims}
        if sessions and (grouped or scope.visit_filters):
            out.add("".join(f", s.{_visit_column(d)}" for d in grouped.values()))
            join = "JOIN" if scope.visit_filters else "LEFT JOIN"
            out.add(f" FROM events h {join} sess s ON s.session_id = h.session_id")
        else:
            out.add(" FROM events h")
        out.add(" WHERE h.app_id = ? AND h.ts >= ? AND h.ts < ?", scope.app_id, start, end)
        out.add(self.bot_condition(scope, "h"))
        if scope.pageviews_only:
            out.add(" AND h.event = 'pageview'")
        for f in scope.event_filters if event_filters else ():
            out.add(" AND ").extend(self.condition(f, "h", goals=scope.goals))
        out.add(")")
        if sessions:
            out.add(
                ", visits AS (SELECT s.* FROM sess s WHERE s.started >= ? AND s.started < ?",
                start,
                end,
            )
            if event_filters and scope.event_filters:
                out.add(" AND s.session_id IN (SELECT session_id FROM hits)")
            out.add(")")
        return out

    def _sessions_from_hits(self, scope: Scope, needed: dict[str, Dim]) -> Sql:
        """Every session with a hit in the window, measured over all its hits (within the horizon)."""
        w = scope.window
        cols = [
            "session_id",
            "min(ts) AS started",
            "max(ts) AS ended",
            self.d.count_if.format(c="event = 'pageview'") + " AS s_pageviews",
            "count(*) AS s_hits",
        ]
        for dim in needed.values():
            if dim.short == "entry_page":
                expr = self.d.first_pageview
            elif dim.short == "exit_page":
                expr = self.d.last_pageview
            else:
                expr = self.d.first.format(x=self.d.text.format(x=dim.column))
            cols.append(f"{expr} AS {_visit_column(dim)}")
        out = Sql(f"SELECT {', '.join(cols)} FROM events e WHERE e.app_id = ?", [scope.app_id])
        out.add(
            " AND e.ts >= ? AND e.ts < ?",
            as_utc(w.start_ms - SESSION_HORIZON_MS),
            as_utc(w.end_ms + SESSION_HORIZON_MS),
        )
        out.add(self.bot_condition(scope, "e"))
        out.add(
            " AND e.session_id IN (SELECT t.session_id FROM events t WHERE t.app_id = ?",
            scope.app_id,
        )
        out.add(" AND t.ts >= ? AND t.ts < ?", as_utc(w.start_ms), as_utc(w.end_ms))
        return out.add(self.bot_condition(scope, "t") + ") GROUP BY session_id")

    # -- aggregates -------------------------------------------------------------------------
    def hit_aggregates(self, metrics: list[str]) -> list[str]:
        out = []
        for m in metrics:
            if m == "visitors":
                out.append(self.d.distinct.format(x="visitor_id") + " AS visitors")
            elif m == "pageviews":
                out.append(self.d.count_if.format(c="event = 'pageview'") + " AS pageviews")
            elif m == "events":
                out.append("count(*) AS events")
        return out

    def session_aggregates(self, metrics: list[str]) -> list[str]:
        out = []
        for m in metrics:
            if m == "visits":
                out.append("count(*) AS visits")
            elif m == "bounce_rate":
                bounces = self.d.count_if.format(c="s_pageviews = 1 AND s_hits = 1")
                out.append(
                    f"coalesce(round(100.0 * {bounces} / nullif(count(*), 0)), 0) AS bounce_rate"
                )
            elif m == "visit_duration":
                secs = self.d.seconds_between.format(a="ended", b="started")
                out.append(f"coalesce(round(avg({secs})), 0) AS visit_duration")
            elif m == "views_per_visit":
                out.append(
                    "coalesce(round(sum(s_pageviews) / nullif(count(*), 0), 2), 0) AS views_per_visit"
                )
        return out

    # -- whole statements -------------------------------------------------------------------
    def totals(self, scope: Scope, hit_m: list[str], sess_m: list[str]) -> Sql:
        """One row: the hit metrics, then the session metrics."""
        sql = self.with_clause(scope, [], sessions=bool(sess_m or scope.visit_filters))
        parts: list[str] = []
        if hit_m:
            parts.append("(SELECT " + ", ".join(self.hit_aggregates(hit_m)) + " FROM hits) a")
        if sess_m:
            parts.append(
                "(SELECT " + ", ".join(self.session_aggregates(sess_m)) + " FROM visits) b"
            )
        return sql.add(" SELECT * FROM " + ", ".join(parts))

    def base_visitors(self, scope: Scope, key: Sql | None, visit_dims: list[Dim]) -> Sql:
        """Rows (key, visitors) without the event filters: the conversion rate's denominator."""
        sql = self.with_clause(
            scope, visit_dims, sessions=bool(scope.visit_filters or visit_dims), event_filters=False
        )
        visitors = self.hit_aggregates(["visitors"])[0]
        if key is None:
            return sql.add(f" SELECT NULL, {visitors} FROM hits")
        return sql.add(" SELECT ").extend(key).add(f" AS k, {visitors} FROM hits h GROUP BY 1")

    def series(self, scope: Scope, interval: str, metrics: list[str], *, sessions: bool) -> Sql:
        """Rows (bucket, metrics…): hit metrics bucketed by hit time, session metrics by start."""
        sql = self.with_clause(scope, [], sessions=sessions)
        if metrics and metrics[0] in SESSION_METRICS:
            key = self.bucket("s.started", scope.window, interval)
            aggs, source = self.session_aggregates(metrics), "visits s"
        else:
            key = self.bucket("h.ts", scope.window, interval)
            aggs, source = self.hit_aggregates(metrics), "hits h"
        return (
            sql.add(" SELECT ")
            .extend(key)
            .add(f" AS k, {', '.join(aggs)} FROM {source} GROUP BY 1")
        )

    def breakdown(
        self,
        scope: Scope,
        dim: Dim,
        hit_m: list[str],
        sess_m: list[str],
        sort: str,
        limit: int,
        offset: int,
    ) -> Sql:
        """Rows (value, hit metrics…, session metrics…), best first by ``sort``."""
        visit_dims = [dim] if dim.level == "visit" else []
        sql = self.with_clause(
            scope,
            visit_dims,
            sessions=bool(sess_m or scope.visit_filters or visit_dims),
            groups=(dim,),
        )
        parts: list[tuple[str, Sql]] = []
        if hit_m:
            part = Sql("SELECT ").extend(self.value(dim, "h"))
            part.add(f" AS k, {', '.join(self.hit_aggregates(hit_m))} FROM hits h GROUP BY 1")
            parts.append(("a", part))
        if sess_m:
            aggs = ", ".join(self.session_aggregates(sess_m))
            if dim.level == "visit":
                part = Sql("SELECT ").extend(self.value(dim, "s"))
                part.add(f" AS k, {aggs} FROM visits s GROUP BY 1")
            else:  # sessions that had a hit with the value
                part = Sql(f"SELECT g.k, {aggs} FROM (SELECT DISTINCT ").extend(
                    self.value(dim, "h")
                )
                part.add(" AS k, h.session_id FROM hits h) g")
                part.add(" JOIN visits s ON s.session_id = g.session_id GROUP BY 1")
            parts.append(("b", part))
        cols = ", ".join(f"{'b' if m in SESSION_METRICS else 'a'}.{m}" for m in hit_m + sess_m)
        if len(parts) == 2:
            sql.add(f" SELECT coalesce(a.k, b.k) AS k, {cols} FROM (").extend(parts[0][1])
            sql.add(") a FULL JOIN (").extend(parts[1][1]).add(") b ON a.k = b.k")
        else:
            alias, part = parts[0]
            sql.add(f" SELECT {alias}.k, {cols} FROM (").extend(part).add(f") {alias}")
        sort_alias = "b" if sort in SESSION_METRICS else "a"
        return sql.add(
            f" ORDER BY {sort_alias}.{sort} DESC NULLS LAST, 1 LIMIT ? OFFSET ?", limit, offset
        )

    def first_hit(self, app_id: str) -> Sql:
        """One row: the time (epoch ms) of the app's first hit that is not a bot's."""
        return Sql(
            f"SELECT min({self.d.epoch_ms.format(x='ts')}) FROM events WHERE app_id = ?"
            " AND coalesce(bot, '') = ''",
            [app_id],
        )

    def realtime(self, scope: Scope) -> Sql:
        sql = self.with_clause(scope, [], sessions=False)
        return sql.add(" SELECT " + self.hit_aggregates(["visitors"])[0] + " FROM hits")


def split_metrics(metrics: list[str]) -> tuple[list[str], list[str]]:
    """(hit metrics, session metrics); conversion_rate needs visitors on the hit side."""
    hit = [m for m in metrics if m not in SESSION_METRICS and m != "conversion_rate"]
    if "conversion_rate" in metrics and "visitors" not in hit:
        hit.append("visitors")
    return hit, [m for m in metrics if m in SESSION_METRICS]
