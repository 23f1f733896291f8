"""The one place the dashboard imports the query layer from (see docs/query.md for the interface)."""

from footfall.query.interim import (
    DIMENSIONS,
    Filter,
    QueryEngine,
    QueryError,
    QuerySpec,
    parse_filters,
)

__all__ = ["DIMENSIONS", "Filter", "QueryEngine", "QueryError", "QuerySpec", "parse_filters"]
