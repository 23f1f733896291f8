"""Goals and funnels in the query engine: the ``event:goal`` dimension, its filter, and funnels.

Always answered from the raw events (the rollups know nothing of goals), so every number is exact:

- ``event:goal==Signup|Visit /pricing`` keeps the hits that complete any of the named goals (``~``
  matches names containing the value); a name the app has no goal of is a 400, ``!=``/``!~`` too
  (Plausible has no negated goal filter). Like every event filter it keeps the visits that had
  such a hit, and ``conversion_rate`` is then the goal's visitors over all visitors of the period
  under the other filters.
- A breakdown by ``event:goal`` lists the goals completed in the period: ``visitors`` (uniques),
  ``events`` (completions), ``pageviews``, ``conversion_rate`` and, for revenue goals,
  ``total_revenue`` and ``average_revenue`` (per completion with an amount) in Plausible's money
  shape ``{"short", "long", "value", "currency"}``. A hit completing two goals counts for both.
- A funnel counts, for each step k, the visitors with a visit whose hits reached steps 1..k in
  order (``footfall.query.sql_goals.GoalBuilder.funnel``), with Plausible's drop-off and
  conversion figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from footfall.model import Funnel, Goal
from footfall.query.fast import RAW
from footfall.query.spec import (
    GOAL,
    REVENUE_METRICS,
    Filter,
    QueryError,
    QuerySpec,
    matching_goals,
)

if TYPE_CHECKING:
    from footfall.query.engine import QueryEngine

GOAL_METRICS = ("visitors", "events", "pageviews", "conversion_rate", *sorted(REVENUE_METRICS))
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "CHF": "CHF "}


def check_goal_filters(filters: Sequence[Filter], goals: Sequence[Goal]) -> None:
    """QueryError for an ``event:goal`` filter the app's goals cannot answer."""
    names = {g.name for g in goals}
    for f in filters:
        if f.dimension != GOAL:
            continue
        if f.op not in ("==", "is", "~"):
            raise QueryError("filters", "event:goal takes == or ~ (a goal is completed or not)")
        if f.op in ("==", "is"):
            unknown = [v for v in f.alternatives if v not in names]
            if unknown:
                known = ", ".join(repr(n) for n in sorted(names)[:20]) or "none yet"
                raise QueryError(
                    "filters", f"the app has no goal named {unknown[0]!r} (goals: {known})"
                )


def money(value: float | None, currency: str) -> dict[str, Any] | None:
    """Plausible's shape of a sum of money: ``{"short": "€1.2K", "long": "€1,234.50",
    "value": 1234.5, "currency": "EUR"}``; None without an amount."""
    if value is None:
        return None
    amount = round(float(value), 2)
    sign, size = ("-" if amount < 0 else ""), abs(amount)
    symbol = _SYMBOLS.get(currency, f"{currency} ")
    short = f"{size:.0f}" if size < 1000 else ""
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if size >= limit:
            short = f"{size / limit:.1f}{suffix}"
            break
    if size < 1000 and size != int(size):
        short = f"{size:.2f}"
    return {
        "short": f"{sign}{symbol}{short}",
        "long": f"{sign}{symbol}{size:,.2f}",
        "value": amount,
        "currency": currency,
    }


def _percent(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 2) if whole else 0.0


class GoalQueries:
    """The engine's answers about goals and funnels (``QueryEngine.goals``)."""

    def __init__(self, engine: QueryEngine) -> None:
        self.engine = engine

    def goals(self, q: QuerySpec) -> list[Goal]:
        return self.engine.store.list_goals(q.app.id)

    def breakdown(
        self, q: QuerySpec, metrics: list[str], limit: int, page: int
    ) -> list[dict[str, object]]:
        """Rows ``{"goal": name, metric: value, …}``, best first by the first metric."""
        bad = [m for m in metrics if m not in GOAL_METRICS]
        if bad:
            raise QueryError(
                "metrics",
                f"{bad[0]} is not available by event:goal; use {', '.join(GOAL_METRICS)}",
            )
        engine = self.engine
        w = engine.window(q)
        scope = engine.scope(q, w, RAW, goals=True)
        goals = list(scope.goals)
        for f in q.filters:  # a goal filter narrows the list, as in Plausible
            if f.dimension == GOAL:
                chosen = matching_goals(f, goals)
                goals = [g for g in goals if g in chosen]
        if not goals:
            return []
        rows = engine._run(engine.sql.goal_breakdown(scope, goals))
        base = 0
        if "conversion_rate" in metrics:
            base = engine._base_visitors(scope, None).get(None, 0)
        found: list[dict[str, object]] = []
        for gi, visitors, events, pageviews, total, mean in rows:
            goal = goals[int(gi)]
            values: dict[str, object] = {
                "visitors": int(visitors),
                "events": int(events),
                "pageviews": int(pageviews),
                "conversion_rate": _percent(int(visitors), int(base)),
                "total_revenue": money(total, goal.currency) if goal.currency else None,
                "average_revenue": money(mean, goal.currency) if goal.currency else None,
            }
            found.append({"goal": goal.name, **{m: values[m] for m in metrics}})
        sort = next((m for m in metrics if m not in REVENUE_METRICS), metrics[0])

        def key(r: dict[str, object]) -> tuple[float, str]:  # then by name, as other breakdowns
            value = r.get(sort)
            if isinstance(value, dict):
                value = value["value"]
            return (-float(value or 0), str(r["goal"]))  # type: ignore[arg-type]

        found.sort(key=key)
        return found[(page - 1) * limit : page * limit]

    def funnel(self, q: QuerySpec, funnel: Funnel) -> dict[str, Any]:
        """Plausible's funnel answer: each step's visitors, drop-off and conversion rates, and
        the visitors of the period who never entered."""
        engine = self.engine
        w = engine.window(q)
        scope = engine.scope(q, w, RAW, goals=True)
        goals = list(scope.goals)
        names = {g.name for g in goals}
        missing = [s.goal for s in funnel.steps if s.goal and s.goal not in names]
        if missing:
            raise QueryError("funnel", f"the funnel's goal {missing[0]!r} no longer exists")
        row = engine._run(engine.sql.funnel(scope, funnel.steps, goals))[0]
        everyone, counts = int(row[0] or 0), [int(n or 0) for n in row[1:]]
        entering = counts[0] if counts else 0
        steps = []
        before: int | None = None
        for step, visitors in zip(funnel.steps, counts, strict=True):
            dropoff = before - visitors if before is not None else 0
            steps.append(
                {
                    "label": step.label,
                    "visitors": visitors,
                    "dropoff": dropoff,
                    "dropoff_percentage": _percent(dropoff, before or 0),
                    "conversion_rate": _percent(visitors, entering),
                    "conversion_rate_step": _percent(visitors, before)
                    if before is not None
                    else (100.0 if visitors else 0.0),
                }
            )
            before = visitors
        return {
            "name": funnel.name,
            "steps": steps,
            "all_visitors": everyone,
            "entering_visitors": entering,
            "entering_visitors_percentage": _percent(entering, everyone),
            "never_entering_visitors": everyone - entering,
            "never_entering_visitors_percentage": _percent(everyone - entering, everyone),
        }
