"""Rollup fold benchmark: does folding a batch cost the same late in a busy day as early in it?

    python bench/fold.py [--hits 1000000] [--batch 50000]

One app, one day of realistic hits (bench/querydata.py: sessions of several hits, real-looking
sources, clients and countries), written in time order batch by batch, each write numbered, and
folded with ``Rollups.apply_stored`` reading the batch back from the events table — what the
server's rollup feed does. Prints the fold
time of the first and the last batches (the baseline is the first batches of the same run: an empty
day), microseconds per hit, and the process's peak RSS. Then compacts, and checks the rollup answers
against the raw hits.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.compute as pc
from querydata import DAY_MS, Shape, app_tables

from footfall.clock import FrozenClock
from footfall.model import App
from footfall.query import QueryEngine, QuerySpec
from footfall.store.duckdb import DuckDBStore
from footfall.store.rollups import Rollups

APP_ID = "33333333-3333-4333-8333-333333333333"


def peak_rss_mb() -> float:
    status = Path("/proc/self/status").read_text()
    m = re.search(r"VmHWM:\s+(\d+) kB", status)
    return int(m.group(1)) / 1024 if m else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hits", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=50_000)
    args = parser.parse_args()
    shape = Shape(apps=1, hits=args.hits, days=1)
    table = next(app_tables(shape, [APP_ID], ["bench.example"]))
    table = table.take(pc.sort_indices(table, [("ts", "ascending")]))
    with tempfile.TemporaryDirectory() as tmp:
        store = DuckDBStore(str(Path(tmp) / "fold.duckdb"))
        rollups = Rollups(store, lambda _: "UTC")
        times = []
        for n, start in enumerate(range(0, table.num_rows, args.batch), 1):
            batch = table.slice(start, args.batch)
            store.insert_events(batch, fold_seq=n)
            t0 = time.perf_counter()
            rollups.apply_stored(APP_ID, n - 1, n, [])
            times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        rollups.compact()
        compact_s = time.perf_counter() - t0
        clock = FrozenClock(shape.end_ms)
        app = App(id=APP_ID, name="bench", url="https://bench.example", timezone="UTC")
        day = time.strftime("%Y-%m-%d", time.gmtime((shape.end_ms - DAY_MS) / 1000))
        q = QuerySpec(app, "day", day)
        metrics = ["visits", "pageviews", "bounce_rate", "visit_duration"]
        fast = QueryEngine(store, clock).aggregate(q, metrics)
        raw = QueryEngine(store, clock, use_rollups=False).aggregate(q, metrics)
        store.close()
    k = max(1, min(3, len(times) // 3))
    first, last = sum(times[:k]) / k, sum(times[-k:]) / k
    print(
        f"{table.num_rows:,} hits of one day in {len(times)} batches of {args.batch:,},"
        " folded from the events table"
    )
    print(
        f"fold, first {k} batches: {first * 1000:8.1f} ms  ({first / args.batch * 1e6:.1f} us/hit)"
    )
    print(f"fold, last {k} batches:  {last * 1000:8.1f} ms  ({last / args.batch * 1e6:.1f} us/hit)")
    print(f"last / first: {last / first:.2f}  (1.00: a fold costs the same however full the day)")
    print(f"all folds: {sum(times):.2f} s, {sum(times) / table.num_rows * 1e6:.1f} us/hit")
    print(f"compaction afterwards: {compact_s * 1000:.0f} ms; peak RSS {peak_rss_mb():.0f} MB")
    same = fast == raw
    print("rollup answers equal raw answers" if same else f"MISMATCH: {fast} != {raw}")
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
