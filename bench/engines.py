"""bench/query.py's engines side by side: the same hits, the same dashboard sets, one run.

- footfall: the QueryEngine (rollups where they answer, raw hits and its sessions otherwise);
- plain DuckDB: footfall's own ``events`` table queried with hand-written SQL (bench/dashsql.py);
- chDB: the hits in ClickHouse's MergeTree, footfall's columns (bench/chdb_baseline.py), visitors
  with ``uniq`` as a ClickHouse user would count them;
- layout DuckDB / layout chDB: the layout proposed for issue 24 (bench/layout.py), exact visitors;
  ``layout DuckDB ~`` the same with ``approx_count_distinct``.

Each dashboard set (the aggregate with the previous period, the daily series, top-10 pages,
sources, countries, browsers, OS and devices) runs under each filter set, the engines interleaved
within every run; medians with min and max. Then accuracy against footfall's raw path (exact),
the time of each panel on the rollups against the layout, and the bytes each engine stores.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
from chdb_baseline import ChDB
from dashsql import PANELS, Dashboard, Target, Window, from_engine, normalise
from layout import NAMES, FlatDuckDB, clickhouse_ddl, flatten

from footfall.model import App
from footfall.query import QueryEngine, QuerySpec, parse_filters
from footfall.store.duckdb import DuckDBStore

FILTER_SETS = [
    "",
    "visit:country==DE",
    "event:page==/blog/**",
    "visit:source==Google;visit:device==mobile",
]
SUMMARY = ["visitors", "visits", "pageviews", "bounce_rate", "visit_duration"]


def label(filters: str) -> str:
    return filters or "unfiltered"


@dataclass
class Others:
    """The copies of footfall's hits the other engines read, loaded from its events table."""

    flat: FlatDuckDB
    ch: ChDB | None
    times: dict[str, float] = field(default_factory=dict)

    @classmethod
    def load(cls, store: DuckDBStore, path: Path, app_ids: list[str], *, chdb: bool) -> Others:
        flat = FlatDuckDB(str(path) + ".layout.duckdb")
        ch = ChDB(str(path) + ".chdb") if chdb else None
        if ch is not None:
            ch.create(clickhouse_ddl("events_flat"))
        scratch = duckdb.connect()
        times = dict.fromkeys(["chDB raw", "flatten", "layout DuckDB", "layout chDB"], 0.0)

        def clock(name: str, fn: Callable[[], object]) -> Any:
            t0 = time.perf_counter()
            out = fn()
            times[name] += time.perf_counter() - t0
            return out

        for app_id in app_ids:
            part = store.fetch_arrow(
                "SELECT * EXCLUDE (fold_seq) FROM events WHERE app_id = ? ORDER BY ts", [app_id]
            )
            rows = clock("flatten", lambda part=part: flatten(scratch, part))
            clock("layout DuckDB", lambda rows=rows: flat.insert(rows))
            if ch is not None:
                clock("chDB raw", lambda part=part: ch.insert_raw(part))
                clock("layout chDB", lambda rows=rows: ch.insert_flat(rows, NAMES))
        clock("layout DuckDB", flat.finish)
        if ch is not None:
            clock("chDB raw", ch.finish)  # OPTIMIZE FINAL of both tables
        scratch.close()
        print(
            "loaded the same hits into the others: "
            + ", ".join(f"{k} {v:.1f} s" for k, v in times.items())
            + " (chDB raw includes OPTIMIZE FINAL of both chDB tables;"
            " flatten: the session's first-hit attributes onto every hit, ids hashed)"
        )
        return cls(flat, ch, times)

    def close(self) -> None:
        self.flat.close()
        if self.ch is not None:
            self.ch.close()


Answer = Callable[[str], list[tuple[Any, ...]]]


def sql_engine(target: Target, answer: Answer, w: Window) -> Callable[[str], dict[str, Any]]:
    built: dict[str, dict[str, list[str]]] = {}

    def run(filters: str) -> dict[str, Any]:
        panels = built.get(filters)
        if panels is None:
            panels = built[filters] = Dashboard(target, w, filters).panels()
        out = {}
        for panel, statements in panels.items():
            results = [answer(s) for s in statements]
            out[panel] = normalise(panel, results[0])
        return out

    return run


def footfall_engine(engine: QueryEngine, app: App) -> Callable[[str], dict[str, Any]]:
    def run(filters: str) -> dict[str, Any]:
        q = QuerySpec(app, "30d", filters=parse_filters(filters))
        return from_engine(dashboard(engine, q))

    return run


def dashboard(engine: QueryEngine, q: QuerySpec) -> dict[str, Any]:
    """The dashboard set through the QueryEngine (bench/query.py's, repeated for the import order)."""
    out: dict[str, Any] = {
        "aggregate": engine.aggregate(q, SUMMARY, compare=True),
        "timeseries": engine.timeseries(q, ["visitors", "pageviews"]),
    }
    for dim in PANELS[2:]:
        metrics = ["visitors", "pageviews"] if dim == "event:page" else ["visitors"]
        out[dim] = engine.breakdown(q, dim, metrics, limit=10)
    return out


def window(app_id: str, span: tuple[Any, Any, Any]) -> Window:
    start, end, prev = (t.strftime("%Y-%m-%d %H:%M:%S") for t in span)
    return Window(app_id, start, end, prev)


def engines(
    store: DuckDBStore, fast: QueryEngine, others: Others, app: App, w: Window
) -> dict[str, Callable[[str], dict[str, Any]]]:
    out = {
        "footfall": footfall_engine(fast, app),
        "plain DuckDB": sql_engine(Target("raw", "duckdb"), store.answer, w),
    }
    if others.ch is not None:
        out["chDB"] = sql_engine(
            Target("raw", "clickhouse", "events_raw", approx=True), others.ch.answer, w
        )
    out["layout DuckDB"] = sql_engine(Target("flat", "duckdb"), others.flat.answer, w)
    out["layout DuckDB ~"] = sql_engine(
        Target("flat", "duckdb", approx=True), others.flat.answer, w
    )
    if others.ch is not None:
        out["layout chDB"] = sql_engine(
            Target("flat", "clickhouse", "events_flat"), others.ch.answer, w
        )
    return out


def spread(samples: list[float]) -> str:
    return f"{statistics.median(samples):6.0f} ({min(samples):.0f}–{max(samples):.0f})"


def compare(
    store: DuckDBStore,
    fast: QueryEngine,
    raw: QueryEngine,
    others: Others,
    app: App,
    span: tuple[Any, Any, Any],
    runs: int,
) -> None:
    w = window(app.id, span)
    runners = engines(store, fast, others, app, w)
    exact = {f: footfall_engine(raw, app)(f) for f in FILTER_SETS}
    answers = {(name, f): run(f) for name, run in runners.items() for f in FILTER_SETS}  # warm
    samples: dict[tuple[str, str], list[float]] = {k: [] for k in answers}
    for _ in range(runs):
        for f in FILTER_SETS:
            for name, run in runners.items():
                t0 = time.perf_counter()
                run(f)
                samples[name, f].append((time.perf_counter() - t0) * 1000)
    names = list(runners)
    print(f"dashboard set, ms: median (min–max) of {runs}, engines interleaved in each run")
    print(f"  {'filters':42}" + "".join(f"{n:>22}" for n in names))
    for f in FILTER_SETS:
        print(f"  {label(f):42}" + "".join(f"{spread(samples[n, f]):>22}" for n in names))
    print(
        "\naccuracy against footfall's raw path (exact): visitors on the total and every top-10 row"
    )
    for name in names:
        errs: list[float] = []
        unequal: list[str] = []
        for f in FILTER_SETS:
            e, u = differences(answers[name, f], exact[f])
            errs += e
            unequal += [f"{label(f)}: {x}" for x in u]
        print(
            f"  {name:16} median {statistics.median(errs) * 100:5.2f} %, max {max(errs) * 100:5.2f} %"
            f" over {len(errs)} numbers; other numbers {'equal' if not unequal else 'differ: ' + '; '.join(unequal[:3])}"
        )
    panels(store, fast, others, app, w, runs)


def differences(got: dict[str, Any], exact: dict[str, Any]) -> tuple[list[float], list[str]]:
    """(relative visitor errors on the total and the top-10 rows found in both, what else differs)."""
    errs: list[float] = []
    unequal: list[str] = []
    a, b = got["aggregate"], exact["aggregate"]
    errs.append(abs(a["visitors"] - b["visitors"]) / max(1, b["visitors"]))
    unequal += [f"{m} {a[m]} vs {b[m]}" for m in a if m != "visitors" and a[m] != b[m]]
    for panel in PANELS[2:]:
        truth = {r[0]: r for r in exact[panel]}
        for r in got[panel]:
            t = truth.get(r[0])
            if t is None:
                continue
            errs.append(abs(r[1] - t[1]) / max(1, t[1]))
            if r[2:] != t[2:]:
                unequal.append(f"{panel} {r[0]} pageviews {r[2:]} vs {t[2:]}")
        if {r[0] for r in got[panel]} != set(truth) and len(unequal) < 20:
            unequal.append(f"{panel} top-10 keys differ")
    return errs, unequal


def panels(
    store: DuckDBStore, fast: QueryEngine, others: Others, app: App, w: Window, runs: int
) -> None:
    """Unfiltered, each panel alone: footfall's rollups against the raw layout; which tables each
    footfall panel read."""
    q = QuerySpec(app, "30d")
    read: dict[str, set[str]] = {}
    answer = store.answer
    current: list[str] = []

    def recording(sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
        read.setdefault(current[0], set()).update(
            t for t in TABLES if f" {t} " in f" {sql} ".replace("\n", " ")
        )
        return answer(sql, params)

    calls: dict[str, Callable[[], object]] = {
        "aggregate": lambda: fast.aggregate(q, SUMMARY, compare=True),
        "timeseries": lambda: fast.timeseries(q, ["visitors", "pageviews"]),
    }
    for dim in PANELS[2:]:
        metrics = ["visitors", "pageviews"] if dim == "event:page" else ["visitors"]
        calls[dim] = lambda d=dim, m=metrics: fast.breakdown(q, d, m, limit=10)
    targets: dict[str, tuple[Target, Answer]] = {
        "layout DuckDB": (Target("flat", "duckdb"), others.flat.answer),
        "layout DuckDB ~": (Target("flat", "duckdb", approx=True), others.flat.answer),
    }
    if others.ch is not None:
        targets["layout chDB"] = (Target("flat", "clickhouse", "events_flat"), others.ch.answer)
    sql = {n: Dashboard(t, w).panels() for n, (t, _) in targets.items()}
    store.answer = recording  # type: ignore[method-assign]
    for p, fn in calls.items():
        current[:] = [p]
        fn()
    store.answer = answer  # type: ignore[method-assign]
    samples: dict[tuple[str, str], list[float]] = {}
    for _ in range(runs):
        for p in PANELS:
            t0 = time.perf_counter()
            calls[p]()
            samples.setdefault((p, "footfall"), []).append((time.perf_counter() - t0) * 1000)
            for n, (_, run) in targets.items():
                t0 = time.perf_counter()
                for s in sql[n][p]:
                    run(s)
                samples.setdefault((p, n), []).append((time.perf_counter() - t0) * 1000)
    names = ["footfall", *targets]
    print(f"\neach panel alone, unfiltered, ms: median (min–max) of {runs}, interleaved")
    print(f"  {'panel':14}" + "".join(f"{n:>20}" for n in names) + "  footfall read")
    for p in PANELS:
        print(
            f"  {p:14}"
            + "".join(f"{spread(samples[p, n]):>20}" for n in names)
            + "  "
            + ", ".join(sorted(read.get(p, ())))
        )


TABLES = [
    "events",
    "sessions",
    "rollup_hll",
    "rollup_hits",
    "rollup_sessions",
    "rollup_state",
    "rollup_dirty",
    "rollup_feed",
    "apps",
]


def duckdb_table_bytes(path: str) -> list[tuple[str, int, int]]:
    """(table, rows, bytes) of every table of a DuckDB file (not open elsewhere): each copied alone
    into a fresh file, whose used blocks are its size (DuckDB reports no per-table size; the copy
    keeps the row order)."""
    out = []
    con = duckdb.connect()
    con.execute(f"ATTACH '{path}' AS src (READ_ONLY)")
    tables = [
        r[0]
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'src' ORDER BY 1"
        ).fetchall()
    ]
    base = None
    for t in ["", *tables]:
        scratch = f"/tmp/_bench_size_{os.getpid()}.duckdb"
        Path(scratch).unlink(missing_ok=True)
        con.execute(f"ATTACH '{scratch}' AS size_probe")
        src = f"src.{t}" if t else "(SELECT 1 AS c LIMIT 0)"  # "": an empty table's metadata
        con.execute(f"CREATE TABLE size_probe.t AS SELECT * FROM {src}")
        rows = con.execute("SELECT count(*) FROM size_probe.t").fetchall()[0][0]
        con.execute("CHECKPOINT size_probe")
        used = con.execute(
            "SELECT (total_blocks - free_blocks) * block_size FROM pragma_database_size()"
            " WHERE database_name = 'size_probe'"
        ).fetchall()[0][0]
        con.execute("DETACH size_probe")
        Path(scratch).unlink(missing_ok=True)
        if base is None:
            base = int(used)
        elif rows:
            out.append((t, int(rows), int(used) - base))
    con.close()
    return out


def column_bytes(path: str, exprs: dict[str, str]) -> list[tuple[str, int]]:
    """Bytes of each expression over ``events`` of a DuckDB file, alone in a file of its own, rows
    in the table's order (256 KiB blocks: meaningful from a few hundred thousand rows)."""
    out = []
    con = duckdb.connect()
    con.execute(f"ATTACH '{path}' AS src (READ_ONLY)")
    base = None
    for name, expr in {"": "SELECT true AS c FROM src.events LIMIT 0", **exprs}.items():
        scratch = f"/tmp/_bench_col_{os.getpid()}.duckdb"
        Path(scratch).unlink(missing_ok=True)
        con.execute(f"ATTACH '{scratch}' AS size_probe")
        query = expr if expr.startswith("SELECT") else f"SELECT {expr} AS c FROM src.events"
        con.execute(f"CREATE TABLE size_probe.t AS {query}")
        con.execute("CHECKPOINT size_probe")
        used = con.execute(
            "SELECT (total_blocks - free_blocks) * block_size FROM pragma_database_size()"
            " WHERE database_name = 'size_probe'"
        ).fetchall()[0][0]
        con.execute("DETACH size_probe")
        Path(scratch).unlink(missing_ok=True)
        if base is None:
            base = int(used)  # an empty table's file: metadata
        else:
            out.append((name, int(used) - base))
    con.close()
    return out


# the layout's id columns, and what else they could be (the writer assigns sessions, so it could
# number them in order of their first hit; a hit id only where an import brings one)
ID_VARIANTS = {
    "session_id (hash)": "session_id",
    "session_id (numbered by first hit, per app)": "SELECT dense_rank() OVER (PARTITION BY app_id"
    " ORDER BY first_ts, session_id)::UINTEGER AS c FROM (SELECT app_id, ts, session_id,"
    " min(ts) OVER (PARTITION BY session_id) AS first_ts FROM src.events) ORDER BY app_id, ts",
    "visitor_id (hash)": "visitor_id",
    "hit_id (hash)": "hit_id",
    "hit_id (0 for live hits)": "0::UBIGINT",
}


def columns(path: Path, flat: Path) -> None:
    """Where the bytes of the two DuckDB hit tables go, column by column."""
    con = duckdb.connect()
    names = {}
    for p in (path, flat):
        con.execute(f"ATTACH '{p}' AS src (READ_ONLY)")
        names[p] = [
            r[0]
            for r in con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE database_name = 'src'"
                " AND table_name = 'events' ORDER BY column_index"
            ).fetchall()
        ]
        con.execute("DETACH src")
    con.close()
    ff = dict(column_bytes(str(path), {c: c for c in names[path] if c != "fold_seq"}))
    lay = dict(column_bytes(str(flat), {c: c for c in names[flat]}))
    print("\nbytes per column, each alone in a file (KiB): footfall events / layout")
    for c in sorted(set(ff) | set(lay), key=lambda c: -max(ff.get(c, 0), lay.get(c, 0))):
        if max(ff.get(c, 0), lay.get(c, 0)) >= 256 * 1024:
            print(f"  {c:18} {ff.get(c, 0) / 1024:9.0f} {lay.get(c, 0) / 1024:9.0f}")
    print("the layout's ids, other ways (KiB):")
    for name, size in column_bytes(str(flat), ID_VARIANTS):
        print(f"  {name:48} {size / 1024:9.0f}")


def mib(n: float) -> str:
    return f"{n / 2**20:8.1f} MiB"


def storage(path: Path, others: Others) -> None:
    """What each engine stores for all the apps' hits."""
    print("\nstorage, all apps (DuckDB: each table copied alone into a file; chDB: system.parts)")
    ff = duckdb_table_bytes(str(path))
    print(f"  footfall file {mib(path.stat().st_size)} on disk; its tables:")
    for t, rows, size in sorted(ff, key=lambda r: -r[2]):
        print(f"    {t:18} {rows:>11,} rows {mib(size)}")
    total = sum(s for _, _, s in ff)
    events = next(s for t, _, s in ff if t == "events")
    print(
        f"    {'sum':18} {'':>16} {mib(total)}  (plain DuckDB reads events alone: {mib(events).strip()})"
    )
    flat = Path(others.flat.path)
    others.flat.close()
    for t, rows, size in duckdb_table_bytes(str(flat)):
        print(
            f"  layout DuckDB {t:12} {rows:>11,} rows {mib(size)}  (file {mib(flat.stat().st_size).strip()})"
        )
    columns(path, flat)
    if others.ch is not None:
        for t in ("events_raw", "events_flat"):
            disk, plain = others.ch.bytes_on_disk(t)
            top = ", ".join(f"{c} {s / 2**20:.1f}" for c, s in others.ch.column_bytes(t)[:6])
            print(
                f"  chDB {t:21} {'':>16} {mib(disk)}  (uncompressed {mib(plain).strip()};"
                f" largest columns, MiB: {top})"
            )
