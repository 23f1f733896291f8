"""Query: metrics, dimensions and filters over stored hits; SQL is assembled here per dialect.

The contract the CLI, the Stats API and the dashboard use (docs/query.md)."""

from typing import TYPE_CHECKING, Any

from footfall.query.spec import (
    DIMENSIONS,
    METRICS,
    Filter,
    QueryError,
    QuerySpec,
    parse_filters,
)

if TYPE_CHECKING:
    from footfall.query.engine import QueryEngine


def __getattr__(name: str) -> Any:
    """``QueryEngine`` is imported when first asked for: the engine reads the rollups, whose
    package (footfall.store.rollups) uses this package's periods and dimensions."""
    if name == "QueryEngine":
        from footfall.query.engine import QueryEngine

        return QueryEngine
    raise AttributeError(name)


__all__ = [
    "DIMENSIONS",
    "METRICS",
    "Filter",
    "QueryEngine",
    "QueryError",
    "QuerySpec",
    "parse_filters",
]
