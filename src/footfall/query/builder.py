"""Builder: the SQL of every query, for one dialect (the one the engine uses).

Its parts: the core (footfall.query.sql: values, conditions, the WITH clause, aggregates,
totals, series, breakdowns), goals and funnels (footfall.query.sql_goals), and the v2 API's
grouped queries and time on page (footfall.query.sql_grouped).
"""

from __future__ import annotations

from footfall.query.sql_goals import GoalBuilder
from footfall.query.sql_grouped import GroupedBuilder


class Builder(GoalBuilder, GroupedBuilder):
    """``Builder(dialect_name)``: every statement; an ``event:goal`` filter is answered wherever
    filters are (GoalBuilder's conditions)."""
