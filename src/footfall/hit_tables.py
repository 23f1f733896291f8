"""Hits as Arrow tables, for the bulk paths: transfers, rebuilds, tests and benchmarks.

The server's buffer does not use them: it appends row tuples with DuckDB's appender
(:meth:`footfall.store.duckdb.DuckDBStore.append_hits`), so a running server never loads Arrow
(~26 MB of libraries resident, docs/benchmarks.md). Tables are built slice by slice
(``zip(*rows)`` transposes in C, then one ``pa.array`` per column).
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
import pyarrow as pa

from footfall.model import Hit
from footfall.schema import EVENT_COLUMNS

_ARROW_TYPES: dict[str, pa.DataType] = {
    "text": pa.string(),
    "timestamp": pa.timestamp("ms"),
    "float": pa.float64(),
    "int": pa.int32(),
    "bool": pa.bool_(),
    "props": pa.map_(pa.string(), pa.string()),
}
ARROW_SCHEMA = pa.schema([pa.field(c.name, _ARROW_TYPES[c.kind]) for c in EVENT_COLUMNS])
_SLICE = 4096


def _props_cells(values: list[object]) -> list[object]:
    return [list(v.items()) if isinstance(v, dict) else None for v in values]


def _batch(rows: list[tuple[object, ...]]) -> pa.RecordBatch:
    arrays = []
    for column, values in zip(EVENT_COLUMNS, zip(*rows, strict=True), strict=True):
        cells: Sequence[object] = _props_cells(list(values)) if column.kind == "props" else values
        arrays.append(pa.array(cells, type=_ARROW_TYPES[column.kind]))
    return pa.RecordBatch.from_arrays(arrays, schema=ARROW_SCHEMA)


def rows_to_table(rows: list[tuple[object, ...]]) -> pa.Table:
    """Hit tuples (``msgspec.structs.astuple(hit)``, EVENT_COLUMNS order) as an Arrow table."""
    chunks = [_batch(rows[start : start + _SLICE]) for start in range(0, len(rows), _SLICE)]
    return pa.Table.from_batches(chunks, schema=ARROW_SCHEMA)


def hits_to_table(hits: list[Hit]) -> pa.Table:
    return rows_to_table([msgspec.structs.astuple(hit) for hit in hits])
