"""Query benchmark: the dashboard's query set on the largest of 10 apps, on footfall and on the
same hits in plain DuckDB and in ClickHouse (chDB), in one run.

    python bench/query.py [--hits 1000000] [--db /tmp/footfall-bench-query.duckdb] [--runs 5] [--reuse]
        [--compare-only] [--no-chdb] [--db-memory 256MB] [--db-memory-resting 48MB]

1. Generates the data set (bench/querydata.py: 10 apps, Zipf-like sizes, 30 days; ``--hits`` over
   all of them, the largest app a third) and loads it with the bulk loader — Arrow tables in
   ``ARROW_SCHEMA`` written through the rollup feed (``RollupFeed.write_table``), each slice folded
   in as the server folds a write (both timed), then compacts. ``--reuse`` keeps an existing file.
2. Copies the file's hits into chDB (``<db>.chdb``: footfall's columns, and the layout proposed in
   issue 24) and into a DuckDB file of that layout (``<db>.layout.duckdb``); bench/engines.py.
3. Times the dashboard set (aggregate with comparison, daily time series, top-10 breakdowns of
   pages, sources, countries, browsers, OS and devices), unfiltered and under three filters, on
   every engine interleaved: footfall's QueryEngine, plain SQL on footfall's events table, chDB,
   the layout on DuckDB and on chDB (bench/dashsql.py has the SQL); medians with min and max. Then
   every engine's visitor numbers against footfall's exact raw answers, each panel alone on the
   rollups against the layout, and the bytes each stores (footfall per table).
4. Unless ``--compare-only``: footfall alone as before — the set through the QueryEngine with
   rollups, with ``use_rollups=False`` and as plain SQL; per query; every breakdown under a
   filter; the rollup estimates' error; the rollup upkeep per flush (which adds hits to the file).

chDB is the ``bench`` extra (``pip install -e '.[bench]'``; ``make bench-query`` installs it);
``--no-chdb`` runs without it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from engines import Others, compare, dashboard, storage
from querydata import Shape, app_tables

from footfall.clock import FrozenClock
from footfall.model import App
from footfall.query import QueryEngine, QuerySpec, parse_filters
from footfall.store.duckdb import DuckDBStore
from footfall.store.rollups import RollupFeed, Rollups

BREAKDOWNS = [
    "event:page",
    "visit:source",
    "visit:country",
    "visit:browser",
    "visit:os",
    "visit:device",
]
FILTERS = ["visit:country==DE", "event:page==/blog/**", "visit:source==Google;visit:device==mobile"]
SUMMARY = ["visitors", "visits", "pageviews", "bounce_rate", "visit_duration"]


def app_ids(n: int) -> list[str]:
    return [f"00000000-0000-4000-8000-{i:012d}" for i in range(n)]


def load(path: Path, shape: Shape) -> tuple[DuckDBStore, float, float]:
    path.unlink(missing_ok=True)
    store = DuckDBStore(str(path))
    ids = app_ids(shape.apps)
    for i, app_id in enumerate(ids):
        store.create_app(App(id=app_id, name=f"site{i}", url=f"https://site{i}.example"))
    feed = RollupFeed(Rollups(store, lambda _: "UTC"), FrozenClock(0), max_rows=10**9)
    load_s = rollup_s = 0.0
    hosts = [f"site{i}.example" for i in range(shape.apps)]
    for table in app_tables(shape, ids, hosts):
        for batch in table.to_batches(max_chunksize=250_000):
            import pyarrow as pa

            part = pa.Table.from_batches([batch])
            t0 = time.perf_counter()
            feed.write_table(part)
            t1 = time.perf_counter()
            feed.fold()
            t2 = time.perf_counter()
            load_s += t1 - t0
            rollup_s += t2 - t1
        print(f"  loaded {table.num_rows:,} hits", flush=True)
    t0 = time.perf_counter()
    feed.rollups.compact()
    rollup_s += time.perf_counter() - t0
    return store, load_s, rollup_s


def plain_sql(store: DuckDBStore, app_id: str, start: Any, end: Any, prev: Any) -> None:
    """The same questions written the obvious way against the raw table."""
    where = "app_id = ? AND ts >= ? AND ts < ? AND coalesce(bot, '') = ''"
    for lo, hi in ((start, end), (prev, start)):
        store.answer(
            "SELECT count(DISTINCT visitor_id), count(DISTINCT session_id),"
            " count(*) FILTER (WHERE event = 'pageview'),"
            " (SELECT round(100.0 * count(*) FILTER (WHERE n = 1) / count(*)) FROM"
            f" (SELECT session_id, count(*) AS n FROM events WHERE {where} GROUP BY 1)),"
            " (SELECT avg(d) FROM (SELECT epoch(max(ts) - min(ts)) AS d FROM events"
            f" WHERE {where} GROUP BY session_id)) FROM events WHERE {where}",
            [app_id, lo, hi] * 3,
        )
    store.answer(
        "SELECT CAST(ts AS DATE), count(DISTINCT visitor_id), count(*) FILTER (WHERE event = 'pageview')"
        f" FROM events WHERE {where} GROUP BY 1",
        [app_id, start, end],
    )
    store.answer(
        "SELECT path, count(DISTINCT visitor_id) AS v, count(*) FROM events"
        f" WHERE {where} AND event = 'pageview' GROUP BY 1 ORDER BY v DESC LIMIT 10",
        [app_id, start, end],
    )
    for col in ("source", "country", "browser", "os", "device"):
        store.answer(
            f"SELECT {col}, count(DISTINCT visitor_id) AS v FROM (SELECT visitor_id,"
            f" arg_min({col}, ts) AS {col} FROM events WHERE {where} GROUP BY session_id, visitor_id)"
            " GROUP BY 1 ORDER BY v DESC LIMIT 10",
            [app_id, start, end],
        )


def timed(fn: Callable[[], object], runs: int) -> float:
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples) * 1000


def visitor_errors(fast: dict[str, Any], exact: dict[str, Any]) -> list[float]:
    errs = []
    a, b = fast["aggregate"]["visitors"]["value"], exact["aggregate"]["visitors"]["value"]
    errs.append(abs(a - b) / b)
    for dim in BREAKDOWNS:
        truth = {tuple(r.items())[0]: r["visitors"] for r in exact[dim]}
        for r in fast[dim]:
            key = tuple(r.items())[0]
            if key in truth and truth[key]:
                errs.append(abs(r["visitors"] - truth[key]) / truth[key])
    return errs


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--hits", type=int, default=1_000_000, help="hits over all 10 apps")
    ap.add_argument("--db", default="/tmp/footfall-bench-query.duckdb")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--reuse", action="store_true")
    ap.add_argument(
        "--compare-only",
        action="store_true",
        help="only the engines side by side (skip footfall's own per-query, filtered and upkeep parts)",
    )
    ap.add_argument(
        "--no-chdb", action="store_true", help="leave chDB out (without the bench extra)"
    )
    ap.add_argument("--db-memory", default="", help="DuckDB memory limit (footfall --db-memory)")
    ap.add_argument(
        "--db-memory-resting",
        default="",
        help="DuckDB's resting memory limit (footfall --db-memory-resting; the server's default"
        " is 48MB, this benchmark's none)",
    )
    args = ap.parse_args()
    shape = Shape(hits=args.hits)
    path = Path(args.db)
    if args.reuse and path.exists():
        store = DuckDBStore(
            str(path),
            memory_limit=args.db_memory or None,
            resting_memory=args.db_memory_resting or None,
        )
        print(
            f"reusing {path}"
            + (f", DuckDB memory limit {args.db_memory}" if args.db_memory else "")
            + (f", resting {args.db_memory_resting}" if args.db_memory_resting else "")
        )
    else:
        print(
            f"generating {args.hits:,} hits for {shape.apps} apps over {shape.days} days into {path}"
        )
        store, load_s, rollup_s = load(path, shape)
        total = store.count_events()
        print(f"bulk load: {total:,} hits in {load_s:.1f} s ({total / load_s:,.0f} hits/s)")
        print(
            f"rollup upkeep (apply per 250k slice + compaction): {rollup_s:.1f} s ({total / rollup_s:,.0f} hits/s)"
        )
    app_id = app_ids(shape.apps)[0]
    app = store.get_app(app_id)
    assert app is not None
    hits = store.count_events(app_id)
    clock = FrozenClock(shape.end_ms - 1)
    fast, raw = QueryEngine(store, clock), QueryEngine(store, clock, use_rollups=False)
    q = QuerySpec(app, "30d")
    w = fast.window(q)
    from footfall.query.periods import as_utc, previous

    span = (as_utc(w.start_ms), as_utc(w.end_ms), as_utc(previous(w, "30d").start_ms))
    print(
        f"\nlargest app: {hits:,} hits; period 30d ending {w.last_day}; median of {args.runs} runs\n"
    )
    others = Others.load(store, path, app_ids(shape.apps), chdb=not args.no_chdb)
    compare(store, fast, raw, others, app, span, args.runs)
    store.close()
    storage(path, others)
    others.close()
    if args.compare_only:
        return
    store = DuckDBStore(str(path))
    fast, raw = QueryEngine(store, clock), QueryEngine(store, clock, use_rollups=False)
    footfall_details(store, fast, raw, q, app, app_id, span, args.runs)
    upkeep_per_flush(store, app_id, shape)
    store.close()


def footfall_details(
    store: DuckDBStore,
    fast: QueryEngine,
    raw: QueryEngine,
    q: QuerySpec,
    app: App,
    app_id: str,
    span: tuple[Any, Any, Any],
    runs: int,
) -> None:
    """footfall alone: rollups against its raw path and plain SQL, per query, filtered breakdowns."""
    fast_answers, exact_answers = dashboard(fast, q), dashboard(raw, q)
    rows = [
        ("dashboard set, rollups (QueryEngine)", timed(lambda: dashboard(fast, q), runs)),
        (
            "dashboard set, raw hits (use_rollups=False)",
            timed(lambda: dashboard(raw, q), max(1, runs // 3)),
        ),
        (
            "dashboard set, plain SQL on the raw table",
            timed(lambda: plain_sql(store, app_id, *span), max(1, runs // 3)),
        ),
    ]
    print("\nfootfall alone:")
    for name, ms in rows:
        print(f"{name:48} {ms:8.0f} ms")
    print("\nper query (rollups / raw):")
    for label, fn_fast, fn_raw in [
        (
            "aggregate + comparison",
            lambda: fast.aggregate(q, SUMMARY, True),
            lambda: raw.aggregate(q, SUMMARY, True),
        ),
        (
            "timeseries",
            lambda: fast.timeseries(q, ["visitors", "pageviews"]),
            lambda: raw.timeseries(q, ["visitors", "pageviews"]),
        ),
        *[
            (
                dim,
                (lambda d=dim: fast.breakdown(q, d, ["visitors"])),
                (lambda d=dim: raw.breakdown(q, d, ["visitors"])),
            )
            for dim in BREAKDOWNS
        ],
    ]:
        print(f"  {label:28} {timed(fn_fast, runs):7.1f} ms  {timed(fn_raw, 1):7.0f} ms")
    print("\nfiltered breakdowns (QueryEngine; filters are answered from raw hits):")
    worst = 0.0
    for f in FILTERS:
        fq = QuerySpec(app, "30d", filters=parse_filters(f))
        for dim in BREAKDOWNS:
            ms = timed(
                lambda fq=fq, dim=dim: fast.breakdown(fq, dim, ["visitors"]), max(1, runs // 3)
            )
            worst = max(worst, ms)
            print(f"  {f:40} {dim:14} {ms:7.0f} ms")
    print(f"  slowest filtered breakdown: {worst:.0f} ms")
    errs = visitor_errors(fast_answers, exact_answers)
    print(
        f"\nvisitor estimates vs exact over {len(errs)} numbers: median error {statistics.median(errs) * 100:.2f} %,"
        f" max {max(errs) * 100:.2f} %"
    )
    counts_equal = all(
        fast_answers["aggregate"][m] == exact_answers["aggregate"][m]
        for m in SUMMARY
        if m != "visitors"
    )
    print(f"exact metrics (visits, pageviews, bounce rate, duration) equal raw: {counts_equal}")


def upkeep_per_flush(store: DuckDBStore, app_id: str, shape: Shape, size: int = 5000) -> None:
    """What the rollups cost a live server: fold 5000-hit batches (the default flush size) of the
    app's last minutes again, under new hit ids, then one compaction. Changes the file's data."""
    import pyarrow as pa
    import pyarrow.compute as pc

    rollups = Rollups(store, lambda _: "UTC")
    feed = RollupFeed(rollups, FrozenClock(0), max_rows=10**9)
    recent = store.fetch_arrow(
        "SELECT * EXCLUDE (fold_seq) FROM events WHERE app_id = ? ORDER BY ts DESC LIMIT ?",
        [app_id, 3 * size],
    )
    samples = []
    for n in range(3):
        part = recent.slice(n * size, size)
        ids = pc.binary_join_element_wise(pa.scalar(f"again{n}-"), part.column("hit_id"), "")
        part = part.set_column(0, "hit_id", ids)
        feed.write_table(part)
        t0 = time.perf_counter()
        feed.fold()
        samples.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    rollups.compact()
    compact_ms = (time.perf_counter() - t0) * 1000
    print(
        f"\nrollup upkeep per {size}-hit flush (largest app): median {statistics.median(samples) * 1000:.0f} ms;"
        f" compaction after them: {compact_ms:.0f} ms  (the file now holds these hits twice)"
    )


if __name__ == "__main__":
    main()
