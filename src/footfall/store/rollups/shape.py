"""What every rollup table shares: dimensions, HyperLogLog parameters, SQL fragments and
:class:`Statement`, the named-parameter SQL the rollup modules are written in. The query side
(footfall.query.fast) reads the rollups with the same constants."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from footfall.query.periods import Window, as_utc, utc_offsets
from footfall.query.spec import DIMS, NONE_VALUE
from footfall.store.base import Step

Steps = list[Step]

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
    d for d in DIMS if d.level == "visit" and d.short not in ("entry_page", "exit_page")
]
VISIT_DIMS = [d for d in DIMS if d.level == "visit"]
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


class Statement:
    """SQL with named parameters (``$app``), bound by name: a value never becomes SQL text.

    The rollup modules build their statements once, at import, from this package's constants."""

    __slots__ = ("names", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.names = tuple(dict.fromkeys(re.findall(r"\$([a-z_]+)", text)))

    def bind(self, **values: Any) -> Step:
        """The statement with the values it names (DuckDB refuses values it does not use)."""
        return (self.text, {name: values[name] for name in self.names})


def precision(dim: str) -> int:
    return P_TOTAL if dim == TOTAL else P_DIM


def visit_column(dim_short: str) -> str:
    return "v_" + dim_short


def or_none(expr: str) -> str:
    return f"coalesce(nullif({expr}, ''), '{NONE_VALUE}')"


def dim_pair(dim: str, value: str) -> str:
    """A (dimension, value) struct; ``dim`` is one of this module's constants, never input."""
    return f"{{'dim': '{dim}', 'value': {value}}}"


def hll_register(p: int, vh: str = "vh") -> str:
    return f"CAST({vh} & {(1 << p) - 1} AS SMALLINT)"


def hll_rho(p: int, vh: str = "vh") -> str:
    w = f"({vh} >> {p})"
    return f"CAST(CASE WHEN {w} = 0 THEN {65 - p} ELSE {64 - p} - floor(log2({w})) END AS TINYINT)"


def local_day(column: str) -> str:
    """The local date of UTC ``column``: ``$offsets`` are the app's UTC offsets (seconds), each
    from the time at the same place in ``$changes`` (see :func:`offsets`)."""
    shift = f"$offsets[len(list_filter($changes, lambda c: c <= {column}))]"
    return f"CAST({column} + to_seconds({shift}) AS DATE)"


_EARLIEST = datetime(1, 1, 1)


def offsets(tz: str, first_ms: int, last_ms: int) -> dict[str, list[Any]]:
    """``changes`` and ``offsets`` for :func:`local_day` over ``first_ms``..``last_ms``."""
    found = utc_offsets(Window(first_ms, last_ms + 1, None, None, tz))
    changes = [_EARLIEST, *(as_utc(ms) for ms, _ in found[1:])]
    return {"changes": changes, "offsets": [seconds for _, seconds in found]}


@dataclass
class Span:
    """A batch's reach for one app: its UTC time range."""

    first_ms: int
    last_ms: int
