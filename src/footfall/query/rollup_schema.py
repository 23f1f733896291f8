"""The rollup tables' shape: their DDL, dimensions, HyperLogLog parameters and the small SQL
fragments a fold and the fast path share (footfall.query.rollup builds the statements)."""

from __future__ import annotations

from dataclasses import dataclass

from footfall.query.spec import _DIMS, NONE_VALUE

P_TOTAL = 12  # HyperLogLog precision for the total: 4096 registers, ~1.6 % standard error
P_DIM = 10  # for dimension values: 1024 registers, ~3.3 % standard error
TOTAL = ""  # the dimension name rows for the whole app use
DELTA_REACH_MS = 2 * 86_400_000  # how far before a batch's session horizon a session may start
# A fold runs on one of DuckDB's threads: as fast as on two for 50,000 hits, and its grouping of
# the batch by session takes one hash table instead of one per thread (~50 MB less at 50,000
# hits; more on bigger machines) while the web server keeps the other cores (docs/benchmarks.md)
FOLD_THREADS = 1

# first-hit visit attributes: fixed once a session's first hit is stored, so sketchable per hit
FIRST_HIT_DIMS = [
    d for d in _DIMS if d.level == "visit" and d.short not in ("entry_page", "exit_page")
]
VISIT_DIMS = [d for d in _DIMS if d.level == "visit"]
HIT_DIMS = {"event:page": "path", "event:name": "event", "event:hostname": "hostname"}
# first-hit attributes with per-hit counts and visitor sketches (the others: sessions path / raw)
_SKETCHED = {"source", "referrer", "medium", "utm_source", "utm_medium", "utm_campaign"}
_SKETCHED |= {"browser", "os", "device", "country", "language", "screen"}
SKETCH_VISIT_DIMS = [d for d in FIRST_HIT_DIMS if d.short in _SKETCHED]
SKETCH_DIMS = frozenset([TOTAL, *HIT_DIMS, *(d.name for d in SKETCH_VISIT_DIMS)])
SESSION_DIMS = frozenset([TOTAL, *(d.name for d in VISIT_DIMS)])
# the columns of a hit a fold reads (a fold fed from the events table copies only these)
FOLD_COLUMNS = tuple(
    dict.fromkeys(
        ["app_id", "ts", "event", "visitor_id", "session_id", "bot", *HIT_DIMS.values()]
        + [d.column for d in VISIT_DIMS]
    )
)


def precision(dim: str) -> int:
    return P_TOTAL if dim == TOTAL else P_DIM


def visit_column(dim_short: str) -> str:
    return "v_" + dim_short


def or_none(expr: str) -> str:
    return f"coalesce(nullif({expr}, ''), '{NONE_VALUE}')"


_SESSION_COLS = ", ".join(f"{visit_column(d.short)} VARCHAR" for d in FIRST_HIT_DIMS)
DDL = [
    "CREATE TABLE IF NOT EXISTS sessions (app_id VARCHAR, session_id VARCHAR, visitor_id VARCHAR,"
    " vh UBIGINT, started TIMESTAMP, ended TIMESTAMP, s_pageviews INTEGER, s_hits INTEGER,"
    " bot VARCHAR, v_entry_page VARCHAR, entry_ts TIMESTAMP, v_exit_page VARCHAR, exit_ts TIMESTAMP, "
    + _SESSION_COLS
    + ")",
    "CREATE TABLE IF NOT EXISTS rollup_hits (app_id VARCHAR, day DATE, dim VARCHAR, value VARCHAR,"
    " pageviews BIGINT, events BIGINT)",
    "CREATE TABLE IF NOT EXISTS rollup_sessions (app_id VARCHAR, day DATE, dim VARCHAR,"
    " value VARCHAR, visits BIGINT, bounces BIGINT, duration DOUBLE, pageviews BIGINT)",
    "CREATE TABLE IF NOT EXISTS rollup_hll (app_id VARCHAR, unit VARCHAR, day DATE, dim VARCHAR,"
    " value VARCHAR, reg SMALLINT, rho TINYINT)",
    "CREATE TABLE IF NOT EXISTS rollup_dirty (app_id VARCHAR, unit VARCHAR, day DATE)",
    "CREATE TABLE IF NOT EXISTS rollup_state (app_id VARCHAR PRIMARY KEY, tz VARCHAR)",
]


def hll_register(p: int, vh: str = "vh") -> str:
    return f"CAST({vh} & {(1 << p) - 1} AS SMALLINT)"


def dim_pair(dim: str, value: str) -> str:
    """A (dimension, value) struct; ``dim`` is one of this module's constants, never input."""
    return f"{{'dim': '{dim}', 'value': {value}}}"


def hll_rho(p: int, vh: str = "vh") -> str:
    w = f"({vh} >> {p})"
    return f"CAST(CASE WHEN {w} = 0 THEN {65 - p} ELSE {64 - p} - floor(log2({w})) END AS TINYINT)"


@dataclass
class Span:
    """A batch's reach for one app: its UTC time range and local days."""

    first_ms: int
    last_ms: int
