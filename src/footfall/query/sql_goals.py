"""The SQL of goals and funnels: a hit completing a goal, the ``event:goal`` filter, revenue, the
breakdown by goal and funnels (answered by footfall.query.goals), on the core of footfall.query.sql.
"""

from __future__ import annotations

from collections.abc import Sequence

from footfall.model import FunnelStep, Goal
from footfall.query.spec import GOAL, Filter, matching_goals, wildcard_regex
from footfall.query.sql import CoreBuilder, Scope, Sql, like_pattern

CURRENCY_PROP = "revenue_currency"  # a hit's own currency (footfall.goals)


class GoalBuilder(CoreBuilder):
    """Goal conditions and the goal and funnel statements; ``event:goal`` filters in every
    statement's conditions."""

    def condition(
        self,
        f: Filter,
        alias: str,
        visit_alias: str | None = None,
        goals: Sequence[Goal] = (),
    ) -> Sql:
        if f.dimension == GOAL:
            return self.goal_filter(f, alias, goals)
        return super().condition(f, alias, visit_alias, goals)

    def path_match(self, alias: str, glob: str) -> Sql:
        """The hit's path matches a page glob (footfall.globs; exact without ``*``)."""
        expr = f"coalesce({alias}.path, '')"
        if "*" not in glob:
            return Sql(f"{expr} = ?", [glob])
        if "*" not in glob.replace("**", ""):
            return Sql(self.d.like.format(x=expr, p="?"), [like_pattern(glob)])
        return Sql(self.d.full_match.format(x=expr, p="?"), [wildcard_regex(glob)])

    def goal_condition(self, goal: Goal, alias: str) -> Sql:
        """The hit completes the goal: a pageview of its glob, or its event with its props."""
        if goal.page:
            return (
                Sql(f"({alias}.event = 'pageview' AND ")
                .extend(self.path_match(alias, goal.page))
                .add(")")
            )
        out = Sql(f"({alias}.event = ?", [goal.event])
        for key, value in goal.props.items():
            prop = self.d.prop.format(m=f"{alias}.props", key="?")
            out.add(f" AND coalesce({prop}, '') = ?", key, value)
        return out.add(")")

    def step_condition(self, step: FunnelStep, goals: Sequence[Goal], alias: str) -> Sql:
        if step.page:
            return (
                Sql(f"({alias}.event = 'pageview' AND ")
                .extend(self.path_match(alias, step.page))
                .add(")")
            )
        return self.goal_condition(next(g for g in goals if g.name == step.goal), alias)

    def goal_filter(self, f: Filter, alias: str, goals: Sequence[Goal]) -> Sql:
        """``event:goal==A|B`` (or ``~`` on names): hits completing any of those goals. The
        engine has checked the names (footfall.query.goals.check_goal_filters)."""
        chosen = matching_goals(f, goals)
        if not chosen:
            return Sql("FALSE")
        out = Sql("(")
        for i, goal in enumerate(chosen):
            out.add(" OR " if i else "").extend(self.goal_condition(goal, alias))
        return out.add(")")

    def revenue(self, goal: Goal, alias: str) -> Sql:
        """The hit's revenue for a revenue goal: its amount property as a number, unless the hit
        names another currency (NULL: no revenue)."""
        prop = self.d.prop.format(m=f"{alias}.props", key="?")
        amount = self.d.to_number.format(x=prop)
        return Sql(
            f"CASE WHEN upper(coalesce({prop}, ?)) = ? THEN {amount} END",
            [CURRENCY_PROP, goal.currency, goal.currency, goal.amount_prop],
        )

    def goal_breakdown(self, scope: Scope, goals: Sequence[Goal]) -> Sql:
        """Rows (goal index, visitors, events, pageviews, revenue total, revenue mean) for the
        goals with a completion among the hits; a hit completing two goals counts for both."""
        sql = self.with_clause(scope, [], sessions=bool(scope.visit_filters), extra=("props",))
        items = Sql()
        for i, goal in enumerate(goals):
            items.add(", " if i else "").add("CASE WHEN ").extend(self.goal_condition(goal, "h"))
            items.add(f" THEN {i} END")  # i: an int of our own
        revenue = Sql("CASE g.gi")
        for i, goal in enumerate(goals):
            if goal.currency:
                revenue.add(f" WHEN {i} THEN ").extend(self.revenue(goal, "g"))
        revenue = revenue.add(" END") if revenue.params else Sql("CAST(NULL AS DOUBLE)")
        distinct = self.d.distinct.format(x="visitor_id")
        pageviews = self.d.count_if.format(c="event = 'pageview'")
        sql.add(f" SELECT gi, {distinct}, count(*), {pageviews}, sum(revenue), avg(revenue) FROM")
        sql.add(" (SELECT g.gi, g.visitor_id, g.event, ").extend(revenue).add(" AS revenue FROM")
        sql.add(" (SELECT h.visitor_id, h.event, h.props, ")
        sql.add(self.d.explode.format(items=items.text), *items.params)
        return sql.add(" AS gi FROM hits h) g WHERE g.gi IS NOT NULL) x GROUP BY 1 ORDER BY 1")

    def funnel(self, scope: Scope, steps: Sequence[FunnelStep], goals: Sequence[Goal]) -> Sql:
        """One row: the visitors of the period, then those whose visit reached each step in
        order. A visit's hits in the period are ordered by time (then hit id); step k is the
        first hit after step k−1's that matches it, so one hit is never two steps. The visitor of
        a step is the one of the hit that took it. Visit filters keep whole sessions; event
        filters keep the visits that had a matching hit."""
        sql = self.with_clause(
            scope,
            [],
            sessions=bool(scope.visit_filters),
            event_filters=False,
            extra=("hit_id", "props"),
        )
        visit = "coalesce(h.session_id, h.hit_id, '')"
        sql.add(
            f", o AS (SELECT h.*, {visit} AS visit, row_number() OVER"
            f" (PARTITION BY {visit} ORDER BY h.ts, h.hit_id) AS rn FROM hits h WHERE TRUE"
        )
        if scope.event_filters:
            sql.add(f" AND {visit} IN (SELECT coalesce(e.session_id, e.hit_id, '') FROM hits e")
            sql.add(" WHERE TRUE")
            for f in scope.event_filters:
                sql.add(" AND ").extend(self.condition(f, "e", goals=scope.goals))
            sql.add(")")
        sql.add(")")
        for k, step in enumerate(steps, 1):
            if k == 1:
                sql.add(", f1 AS (SELECT o.visit, min(o.rn) AS rn FROM o WHERE ")
            else:
                sql.add(
                    f", f{k} AS (SELECT o.visit, min(o.rn) AS rn FROM o JOIN f{k - 1} p"
                    " ON p.visit = o.visit AND o.rn > p.rn WHERE "
                )
            sql.extend(self.step_condition(step, goals, "o")).add(" GROUP BY 1)")
        distinct = self.d.distinct.format(x="o.visitor_id")
        cols = [f"(SELECT {distinct} FROM o)"]
        cols += [
            f"(SELECT {distinct} FROM f{k} JOIN o ON o.visit = f{k}.visit AND o.rn = f{k}.rn)"
            for k in range(1, len(steps) + 1)
        ]
        return sql.add(" SELECT " + ", ".join(cols))
