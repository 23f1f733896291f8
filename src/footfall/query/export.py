"""Export and import of raw events in the versioned footfall event format (docs/event-format.md).

NDJSON: a header line ``{"format": "footfall-events", "version": 1, …}``, then one object per hit
with the columns of ``footfall.schema.EVENT_COLUMNS`` (empty ones left out), ``ts`` as ISO 8601 UTC
with milliseconds, ``props`` as an object. CSV: the same columns as a header row, ``props`` as JSON,
and text cells starting with ``= + - @`` (or tab / carriage return) prefixed with ``'`` so a
spreadsheet never runs them as formulas. Parquet: ``ARROW_SCHEMA`` with the version in its metadata.
Import reads NDJSON back; a hit whose ``hit_id`` the app already has is skipped, so importing twice
changes nothing.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import msgspec
import pyarrow as pa

from footfall.hit_tables import ARROW_SCHEMA, hits_to_table
from footfall.model import App, Hit
from footfall.query.periods import as_utc, local_midnight_ms, parse_day, zone
from footfall.schema import COLUMN_NAMES, COLUMNS_BY_NAME, cap_text, clean_props

if TYPE_CHECKING:
    from footfall.store.base import Store
    from footfall.store.rollups import RollupFeed

FORMAT = "footfall-events"
VERSION = 1
FORMATS = ("ndjson", "csv", "parquet")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")
_CHUNK_DAYS = 7
_COLUMNS = ", ".join(COLUMN_NAMES)  # the schema's columns, not the store's own (fold_seq)


class EventFormatError(ValueError):
    """A line that is not a footfall event, with its line number."""


def export_range(app: App, first: str | None, last: str | None) -> tuple[int, int]:
    """UTC ms bounds of local days ``first``..``last`` (inclusive; open ends allowed)."""
    tz = zone(app.timezone)
    lo = local_midnight_ms(parse_day(first, "from"), tz) if first else 0
    hi = (
        local_midnight_ms(parse_day(last, "to") + timedelta(days=1), tz)
        if last
        else 253_402_300_799_000  # 9999-12-31
    )
    return lo, hi


def event_tables(store: Store, app_id: str, lo_ms: int, hi_ms: int) -> Iterator[pa.Table]:
    """The app's events in time order, a few days per table (memory stays bounded)."""
    bounds = store.fetch(
        "SELECT epoch_ms(min(ts)), epoch_ms(max(ts)) FROM events WHERE app_id = ?"
        " AND ts >= ? AND ts < ?",
        [app_id, as_utc(lo_ms), as_utc(hi_ms)],
    )[0]
    if bounds[0] is None:
        return
    step = _CHUNK_DAYS * 86_400_000
    start = max(lo_ms, int(bounds[0]))
    end = min(hi_ms, int(bounds[1]) + 1)
    for part_lo in range(start, end, step):
        part_hi = min(part_lo + step, end)
        yield store.fetch_arrow(
            f"SELECT {_COLUMNS} FROM events WHERE app_id = ? AND ts >= ? AND ts < ?"  # noqa: S608
            " ORDER BY ts, hit_id",
            [app_id, as_utc(part_lo), as_utc(part_hi)],
        )


def _iso(value: datetime) -> str:
    return value.replace(tzinfo=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


_RECORD_SLICE = 10_000  # rows turned into Python objects at a time


def _records(table: pa.Table) -> Iterator[dict[str, Any]]:
    rows = (
        row
        for batch in table.select(list(COLUMN_NAMES)).to_batches(max_chunksize=_RECORD_SLICE)
        for row in batch.to_pylist()
    )
    for row in rows:
        out: dict[str, Any] = {}
        for name in COLUMN_NAMES:
            value = row[name]
            if value is None or value == "":
                continue
            if name == "ts":
                value = _iso(value)
            elif name == "props":
                value = dict(value)
                if not value:
                    continue
            out[name] = value
        yield out


def header(app: App, exported_ms: int) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": VERSION,
        "app_id": app.id,
        "app_name": app.name,
        "exported": _iso(datetime.fromtimestamp(exported_ms / 1000, UTC).replace(tzinfo=None)),
        "columns": list(COLUMN_NAMES),
    }


def ndjson_lines(app: App, tables: Iterable[pa.Table], exported_ms: int) -> Iterator[bytes]:
    enc = msgspec.json.Encoder()
    yield enc.encode(header(app, exported_ms)) + b"\n"
    for table in tables:
        yield b"".join(enc.encode(r) + b"\n" for r in _records(table))


def neutralise(cell: str) -> str:
    """Keep a spreadsheet from reading a cell as a formula."""
    return "'" + cell if cell.startswith(_FORMULA) else cell


def csv_chunks(tables: Iterable[pa.Table]) -> Iterator[bytes]:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMN_NAMES)
    for table in tables:
        for r in _records(table):
            cells = []
            for name in COLUMN_NAMES:
                value = r.get(name)
                if value is None:
                    cells.append("")
                elif name == "props":
                    cells.append(neutralise(msgspec.json.encode(value).decode()))
                elif isinstance(value, str):
                    cells.append(neutralise(value))
                else:
                    cells.append(str(value))
            writer.writerow(cells)
        yield buf.getvalue().encode()
        buf.seek(0)
        buf.truncate()
    if buf.tell():
        yield buf.getvalue().encode()


def parquet_bytes(tables: Iterable[pa.Table]) -> bytes:
    import pyarrow.parquet as pq

    schema = ARROW_SCHEMA.with_metadata(
        {"footfall_format": FORMAT, "footfall_version": str(VERSION)}
    )
    sink = io.BytesIO()
    with pq.ParquetWriter(sink, schema) as writer:
        for table in tables:
            writer.write_table(table.select(list(COLUMN_NAMES)).cast(schema))
    return sink.getvalue()


# -- import ------------------------------------------------------------------------------------
def _hit(record: dict[str, Any], app_id: str, raw_line: bytes) -> Hit:
    fields: dict[str, Any] = {}
    for name, value in record.items():
        column = COLUMNS_BY_NAME.get(name)
        if column is None or value is None:
            continue  # unknown keys are ignored: newer exports stay readable
        if column.kind == "timestamp":
            if not isinstance(value, str):
                raise ValueError(f"{name} must be an ISO 8601 time")
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            fields[name] = int(moment.timestamp() * 1000)
        elif column.kind == "props":
            fields[name] = clean_props(value)
        elif column.kind == "float":
            fields[name] = float(value)
        elif column.kind == "int":
            fields[name] = int(value)
        else:
            fields[name] = cap_text(name, str(value))
    if "ts" not in fields:
        raise ValueError("ts is missing")
    fields["app_id"] = app_id
    if not fields.get("hit_id"):  # derived from the line: the same line imports once
        fields["hit_id"] = "imp-" + hashlib.sha256(raw_line.strip()).hexdigest()[:40]
    return msgspec.convert(fields, Hit)


def read_ndjson(lines: Iterable[bytes], app_id: str) -> Iterator[Hit]:
    """Hits from an NDJSON export (header line optional). Raises EventFormatError naming the line."""
    dec = msgspec.json.Decoder()
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = dec.decode(line)
        except msgspec.DecodeError as exc:
            raise EventFormatError(f"line {n}: not JSON ({exc})") from None
        if not isinstance(record, dict):
            raise EventFormatError(f"line {n}: not an object")
        if record.get("format") == FORMAT:
            if record.get("version") != VERSION:
                raise EventFormatError(
                    f"line {n}: format version {record.get('version')} is not {VERSION}"
                )
            continue
        try:
            yield _hit(record, app_id, line)
        except (ValueError, TypeError, msgspec.ValidationError) as exc:
            raise EventFormatError(f"line {n}: {exc}") from None


def import_hits(
    store: Store, feed: RollupFeed | None, hits: Iterable[Hit], app_id: str, chunk: int = 50_000
) -> tuple[int, int]:
    """Insert the hits the app does not have yet (by hit_id), through the rollup feed when
    given (the caller folds them in: ``feed.fold()``). Returns (added, skipped)."""
    added = skipped = 0
    batch: list[Hit] = []

    def flush() -> None:
        nonlocal added, skipped
        if not batch:
            return
        lo = min(h.ts for h in batch)
        hi = max(h.ts for h in batch)
        known = {
            r[0]
            for r in store.fetch(
                "SELECT hit_id FROM events WHERE app_id = ? AND ts >= ? AND ts <= ?",
                [app_id, as_utc(lo), as_utc(hi)],
            )
        }
        fresh: dict[str, Hit] = {}
        for h in batch:
            if h.hit_id in known or h.hit_id in fresh:
                skipped += 1
            else:
                fresh[str(h.hit_id)] = h
        if fresh:
            table = hits_to_table(list(fresh.values()))
            if feed is not None:
                feed.write_table(table)
            else:
                store.insert_events(table)
            added += len(fresh)
        batch.clear()

    for hit in hits:
        batch.append(hit)
        if len(batch) >= chunk:
            flush()
    flush()
    return added, skipped
