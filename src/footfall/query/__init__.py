"""Query: metrics, dimensions and filters over stored hits; SQL is assembled here per dialect.

The contract the CLI, the Stats API and the dashboard use (docs/query.md)."""

from footfall.query.engine import QueryEngine
from footfall.query.spec import (
    DIMENSIONS,
    METRICS,
    Filter,
    QueryError,
    QuerySpec,
    parse_filters,
)

__all__ = [
    "DIMENSIONS",
    "METRICS",
    "Filter",
    "QueryEngine",
    "QueryError",
    "QuerySpec",
    "parse_filters",
]
