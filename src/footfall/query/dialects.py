"""What differs between the stores' SQL dialects: one row of fragments per dialect, used by
footfall.query.sql (where query SQL is assembled, with sql_goals and sql_grouped) and the
DuckDB rollups."""

from __future__ import annotations

from dataclasses import dataclass

from footfall.query.spec import QueryError


@dataclass(frozen=True, slots=True)
class Dialect:
    first: str  # value of x at the earliest ts, NULLs kept
    first_pageview: str  # path of the first pageview
    last_pageview: str  # path of the last pageview
    count_if: str
    distinct: str
    seconds_between: str  # {a} - {b} in seconds
    full_match: str  # regular expression matching the whole value
    like: str  # LIKE with backslash escapes
    like_plain: str  # LIKE of a pattern with nothing escaped (DuckDB turns a prefix into a range)
    contains: str
    matches: str  # a regular expression (RE2) found somewhere in the value
    prop: str  # custom property {key} of the props map
    referrer: str  # a referrer URL without scheme, www., query, fragment and trailing slash
    next_in_session: str  # {x} of the session's next hit (NULL for its last), a window function
    text: str  # cast to text
    shift_seconds: str  # timestamp plus a number of seconds
    epoch_ms: str  # a timestamp as milliseconds since 1970
    bucket: dict[str, str]  # interval -> text key of a local timestamp
    explode: str  # one row per element of the list {items} (goals a hit completes)
    to_number: str  # text {x} as a double, NULL when it is no number (revenue amounts)


DIALECTS: dict[str, Dialect] = {
    "duckdb": Dialect(
        first="arg_min_null({x}, ts)",
        first_pageview="arg_min(path, ts) FILTER (WHERE event = 'pageview')",
        last_pageview="arg_max(path, ts) FILTER (WHERE event = 'pageview')",
        count_if="count(*) FILTER (WHERE {c})",
        distinct="count(DISTINCT {x})",
        seconds_between="epoch({a} - {b})",
        full_match="regexp_full_match({x}, {p})",
        like="{x} LIKE {p} ESCAPE '\\'",
        like_plain="{x} LIKE {p}",
        contains="contains({x}, {p})",
        matches="regexp_matches({x}, {p})",
        prop="{m}[{key}]",
        referrer="rtrim(regexp_extract({x}, '^(?:[A-Za-z][A-Za-z0-9+.-]*://)?(?:www\\.)?([^?#]*)',"
        " 1), '/')",
        next_in_session="lead({x}) OVER (PARTITION BY session_id ORDER BY ts)",
        text="CAST({x} AS VARCHAR)",
        shift_seconds="({ts} + to_seconds({s}))",
        epoch_ms="epoch_ms({x})",
        bucket={
            "minute": "strftime(date_trunc('minute', {t}), '%Y-%m-%d %H:%M:00')",
            "hour": "strftime(date_trunc('hour', {t}), '%Y-%m-%d %H:00:00')",
            "day": "strftime({t}, '%Y-%m-%d')",
            "week": "strftime(date_trunc('week', {t}), '%Y-%m-%d')",
            "month": "strftime(date_trunc('month', {t}), '%Y-%m-%d')",
        },
        explode="unnest([{items}])",
        to_number="TRY_CAST({x} AS DOUBLE)",
    ),
    "clickhouse": Dialect(
        first="argMin({x}, ts)",
        first_pageview="argMinIf(path, ts, event = 'pageview')",
        last_pageview="argMaxIf(path, ts, event = 'pageview')",
        count_if="countIf({c})",
        distinct="uniqExact({x})",
        seconds_between="dateDiff('second', {b}, {a})",
        full_match="match({x}, concat('^(?:', {p}, ')$'))",
        like="{x} LIKE {p}",
        like_plain="{x} LIKE {p}",
        contains="position({x}, {p}) > 0",
        matches="match({x}, {p})",
        prop="{m}[{key}]",
        referrer="replaceRegexpOne(extract({x},"
        " '^(?:[A-Za-z][A-Za-z0-9+.-]*://)?(?:www\\\\.)?([^?#]*)'), '/+$', '')",
        next_in_session="leadInFrame(toNullable({x})) OVER (PARTITION BY session_id ORDER BY ts"
        " ROWS BETWEEN CURRENT ROW AND 1 FOLLOWING)",
        text="toString({x})",
        shift_seconds="addSeconds({ts}, {s})",
        epoch_ms="toUnixTimestamp64Milli({x})",
        bucket={
            "minute": "formatDateTime(toStartOfMinute({t}), '%Y-%m-%d %H:%i:00')",
            "hour": "formatDateTime(toStartOfHour({t}), '%Y-%m-%d %H:00:00')",
            "day": "formatDateTime({t}, '%Y-%m-%d')",
            "week": "formatDateTime(toMonday({t}), '%Y-%m-%d')",
            "month": "formatDateTime(toStartOfMonth({t}), '%Y-%m-%d')",
        },
        explode="arrayJoin([{items}])",
        to_number="toFloat64OrNull({x})",
    ),
}


def dialect(name: str) -> Dialect:
    try:
        return DIALECTS[name]
    except KeyError:
        raise QueryError("site_id", f"the store's SQL dialect {name!r} is not supported") from None
