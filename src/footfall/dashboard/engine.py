"""The one place the dashboard imports the query layer from (docs/query.md), plus the custom
property keys seen in a period, which the events panel offers as tabs."""

from __future__ import annotations

from footfall.query import (
    DIMENSIONS,
    Filter,
    QueryEngine,
    QueryError,
    QuerySpec,
    parse_filters,
)
from footfall.query.props import prop_keys
from footfall.query.spec import GOAL, NONE_VALUE

__all__ = [
    "DIMENSIONS",
    "GOAL",
    "NONE_VALUE",
    "Filter",
    "QueryEngine",
    "QueryError",
    "QuerySpec",
    "parse_filters",
    "prop_keys",
]
