"""The OpenAPI 3.1 description of the Stats API (v1 and v2), served at /api/v1/openapi.json
(hand-written)."""

from __future__ import annotations

from typing import Any

from footfall.query.spec import DIMENSIONS, INTERVALS, METRICS, PERIODS


def _param(
    name: str, description: str, schema: dict[str, Any], required: bool = False
) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": schema,
    }


_SITE = _param("site_id", "The app's UUID or its domain.", {"type": "string"}, True)
_PERIOD = _param(
    "period",
    "Period in the app's time zone; also <N>d (N days) and <N>h (last N hours).",
    {"type": "string", "default": "30d", "examples": list(PERIODS)},
)
_DATE = _param(
    "date",
    "The period's last day (YYYY-MM-DD, default today); for custom: YYYY-MM-DD,YYYY-MM-DD.",
    {"type": "string"},
)
_METRICS = _param(
    "metrics",
    "Comma-separated: " + ", ".join(METRICS) + ".",
    {"type": "string", "default": "visitors"},
)
_FILTERS = _param(
    "filters",
    "dimension==value;… (AND). Operators == != ~ (contains) !~; | separates alternatives; "
    "* and ** are wildcards in == and !=; (none) matches an empty value.",
    {"type": "string", "examples": ["event:page==/blog/**;visit:country==DE|FR"]},
)
_BOTS = _param("with_bots", "Count bot hits too (footfall extension).", {"type": "boolean"})
_ERROR = {
    "description": "A bad parameter (400) or a missing/invalid API key (401).",
    "content": {
        "application/json": {
            "schema": {"type": "object", "properties": {"error": {"type": "string"}}}
        }
    },
}


def _get(summary: str, params: list[dict[str, Any]], result: dict[str, Any]) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "security": [{"bearer": []}],
            "parameters": params,
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": result}}},
                "400": _ERROR,
                "401": _ERROR,
            },
        }
    }


def _query_v2() -> dict[str, Any]:
    """POST /api/v2/query: Plausible's query object (footfall.present.query_body)."""
    from footfall.present import query_body as v2

    strings = {"type": "array", "items": {"type": "string"}}
    filter_tree = {
        "type": "array",
        "description": "[op, dimension, [values], {case_sensitive}] with op is, is_not,"
        " contains, contains_not, matches, matches_not; or [and, [...]], [not, filter],"
        " [or, [filters of one dimension and operator]]",
        "examples": [["is", "visit:country", ["DE"]], ["contains", "event:page", ["/blog"]]],
    }
    body = {
        "type": "object",
        "required": ["site_id", "metrics", "date_range"],
        "additionalProperties": False,
        "properties": {
            "site_id": {"type": "string", "description": "The app's UUID or its domain."},
            "metrics": {**strings, "items": {"type": "string", "enum": list(v2.METRICS)}},
            "date_range": {
                "oneOf": [
                    {
                        "type": "string",
                        "description": "day, <N>d (the N days before today), <N>mo (the N"
                        " months before this one), month, year, all, 24h",
                        "examples": ["day", "7d", "28d", "30d", "91d", "month", "6mo", "12mo"],
                    },
                    {
                        "type": "array",
                        "minItems": 2,
                        "maxItems": 2,
                        "items": {"type": "string"},
                        "description": "Two ISO dates, or two date-times with their offsets.",
                    },
                ]
            },
            "dimensions": {
                **strings,
                "items": {
                    "type": "string",
                    "description": "time, time:hour|day|week|month, event:props:<key>, or one"
                    " of " + ", ".join(v2.DIMENSIONS),
                },
            },
            "filters": {"type": "array", "items": filter_tree},
            "order_by": {
                "type": "array",
                "items": {"type": "array", "minItems": 2, "maxItems": 2},
                "examples": [[["visitors", "desc"], ["time:day", "asc"]]],
            },
            "include": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "total_rows": {"type": "boolean"},
                    "time_labels": {"type": "boolean"},
                    "imports": {"type": "boolean"},
                },
            },
            "pagination": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "limit": {"type": "integer", "minimum": 1, "maximum": v2.MAX_LIMIT},
                    "offset": {"type": "integer", "minimum": 0},
                },
            },
        },
    }
    answer = {
        "type": "object",
        "properties": {
            "results": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"metrics": {"type": "array"}, "dimensions": strings},
                },
            },
            "meta": {"type": "object"},
            "query": {"type": "object"},
        },
    }
    return {
        "post": {
            "summary": "Plausible's Stats API v2: metrics by dimensions, filtered, ordered, paged",
            "security": [{"bearer": []}],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": body}},
            },
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": answer}}},
                "400": {
                    **_ERROR,
                    "description": 'A bad query: {"error": "#/<field>: <why>"}, the field as a'
                    " JSON pointer.",
                },
                "401": _ERROR,
            },
        }
    }


_VALUE = {
    "type": "object",
    "properties": {"value": {"type": "number"}, "change": {"type": ["number", "null"]}},
}
_ROWS = {
    "type": "object",
    "properties": {"results": {"type": "array", "items": {"type": "object"}}},
}

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "footfall Stats API",
        "version": "1",
        "description": "Compatible with Plausible's Stats API v1 and v2 (/api/v2/query)."
        " Authenticate with Authorization: Bearer <key> (footfall keys create).",
    },
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    "paths": {
        "/api/v1/stats/realtime/visitors": _get(
            "Unique visitors in the last 5 minutes", [_SITE], {"type": "integer"}
        ),
        "/api/v1/stats/aggregate": _get(
            "Totals for a period",
            [
                _SITE,
                _PERIOD,
                _DATE,
                _METRICS,
                _FILTERS,
                _BOTS,
                _param(
                    "compare", "previous_period", {"type": "string", "enum": ["previous_period"]}
                ),
            ],
            {
                "type": "object",
                "properties": {"results": {"type": "object", "additionalProperties": _VALUE}},
            },
        ),
        "/api/v1/stats/timeseries": _get(
            "Metrics per hour/day/week/month, empty buckets filled with 0",
            [
                _SITE,
                _PERIOD,
                _DATE,
                _METRICS,
                _FILTERS,
                _BOTS,
                _param("interval", "Bucket size.", {"type": "string", "enum": list(INTERVALS)}),
            ],
            _ROWS,
        ),
        "/api/v1/stats/breakdown": _get(
            "Metrics per value of a dimension, best first",
            [
                _SITE,
                _param(
                    "property",
                    "A dimension (or event:props:<key>).",
                    {"type": "string", "enum": list(DIMENSIONS)},
                    True,
                ),
                _PERIOD,
                _DATE,
                _METRICS,
                _FILTERS,
                _BOTS,
                _param("limit", "Rows per page (1–1000).", {"type": "integer", "default": 100}),
                _param("page", "Page number from 1.", {"type": "integer", "default": 1}),
            ],
            _ROWS,
        ),
        "/api/v1/export": _get(
            "Raw events in the footfall event format (docs/event-format.md)",
            [
                _SITE,
                _param(
                    "format",
                    "File format.",
                    {"type": "string", "enum": ["ndjson", "csv", "parquet"]},
                ),
                _param("from", "First local day, YYYY-MM-DD.", {"type": "string"}),
                _param("to", "Last local day, YYYY-MM-DD.", {"type": "string"}),
            ],
            {"type": "string"},
        ),
        "/api/v2/query": _query_v2(),
    },
}
