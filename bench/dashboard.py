"""Dashboard speed and weight: the app page rendered by a real server on the query benchmark's data.

    .venv/bin/python bench/dashboard.py                 # 10M hits in 10 apps (bench/querydata.py)
    .venv/bin/python bench/dashboard.py --hits 1000000  # smaller, quicker

Loads the data set once into a DuckDB file (reused while its shape matches; --fresh rebuilds it), keeps
the query layer's rollups up to date batch by batch as the server's buffer would, starts footfall on
127.0.0.1, logs in, and times GET /apps/{id} for the biggest app. Baselines in the same run: the login
page (the same stack with no queries) and the page's queries run one after another in-process.
Prints medians; the page weight is the HTML plus its CSS and JS, gzipped as a proxy would.
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import sys
import threading
import time
from pathlib import Path

import httpx
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.querydata import Shape, app_tables

from footfall.clock import FrozenClock
from footfall.dashboard.accounts import Accounts
from footfall.dashboard.engine import QueryEngine, QuerySpec, prop_keys
from footfall.dashboard.panels import HEADLINE, PANELS
from footfall.runtime import Runtime
from footfall.server import uvicorn_config
from footfall.settings import Config
from footfall.store.base import open_store
from footfall.web import create_app

EMAIL, PASSWORD = "bench@example.com", "bench password 1234"


def load(db: Path, shape: Shape, fresh: bool) -> None:
    if db.exists() and not fresh:
        store = open_store(str(db))
        try:
            found = store.count_events()
        finally:
            store.close()
        if found > 0.95 * shape.hits:
            print(f"reusing {db} ({found:,} hits)")
            return
    for stale in (db, db.with_name(db.name + ".wal")):
        stale.unlink(missing_ok=True)
    from footfall.apps import AppRegistry
    from footfall.store.rollups import RollupFeed, Rollups

    store = open_store(str(db))
    clock = FrozenClock(shape.end_ms - 30 * 86_400_000)
    registry = AppRegistry(store, clock)
    apps = [registry.create(f"Site {n}", f"https://site{n}.example") for n in range(shape.apps)]
    feed = RollupFeed(Rollups(store, lambda app_id: "UTC"), clock, max_rows=10**9)
    started = time.perf_counter()
    for table in app_tables(shape, [a.id for a in apps], [a.hostname for a in apps]):
        for part in table.to_batches(max_chunksize=500_000):
            import pyarrow as pa

            batch = pa.Table.from_batches([part])
            feed.write_table(batch)
            feed.fold()
    feed.rollups.compact()
    print(f"loaded {store.count_events():,} hits in {time.perf_counter() - started:.0f} s")
    store.close()


def timed(fn, runs: int) -> list[float]:  # type: ignore[no-untyped-def]
    fn()  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    # DuckDB cursors live per thread: measuring in a thread that ends before the store closes
    # keeps interpreter shutdown clean
    worker = threading.Thread(target=run)
    worker.start()
    worker.join()


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hits", type=int, default=10_000_000)
    parser.add_argument("--db", default="/tmp/footfall-bench-dashboard.duckdb")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--fresh", action="store_true")
    args = parser.parse_args()
    shape = Shape(hits=args.hits)
    db = Path(args.db.replace(".duckdb", f"-{args.hits}.duckdb"))
    load(db, shape, args.fresh)

    clock = FrozenClock(shape.end_ms - 3_600_000)  # 2025-12-31 23:00 UTC: the data's last hour
    config = Config(db=str(db), port=8766, flush_interval=60.0)
    runtime = Runtime.build(config, clock=clock)
    apps = runtime.apps.all()
    app = max(apps, key=lambda a: runtime.store.count_events(a.id))
    accounts = Accounts(runtime.store, clock)
    if runtime.store.get_user_by_email(EMAIL) is None:
        accounts.create_user(EMAIL, PASSWORD, role="owner")
    server = uvicorn.Server(uvicorn_config(create_app(runtime), config, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{config.port}", timeout=120) as http:
            page = http.get("/login")
            token = page.text.split('name="token" value="')[1].split('"')[0]
            assert (
                http.post(
                    "/login", data={"token": token, "email": EMAIL, "password": PASSWORD}
                ).status_code
                == 303
            )
            print(
                f"app {app.name}: {runtime.store.count_events(app.id):,} of {runtime.store.count_events():,} hits; "
                f"median of {args.runs} runs, ms"
            )
            rows: list[tuple[str, list[float]]] = [
                (
                    "GET /login (no queries: the stack's baseline)",
                    timed(lambda: http.get("/login"), args.runs),
                )
            ]
            for label, query in (
                ("GET /apps/{id}?period=30d", "period=30d"),
                ("GET /apps/{id}?period=7d", "period=7d"),
                ("GET /apps/{id}?period=day", "period=day"),
                (
                    "GET /apps/{id}?period=30d&f=visit:country==DE",
                    "period=30d&f=visit:country%3D%3DDE",
                ),
                ("GET /apps/{id}?period=30d&f=event:page==/", "period=30d&f=event:page%3D%3D/"),
                ("GET /apps/{id}?period=30d&pages=entry (sessions path)", "period=30d&pages=entry"),
            ):

                def get(q: str = query) -> None:
                    assert http.get(f"/apps/{app.id}?{q}").status_code == 200

                rows.append((label, timed(get, args.runs)))
            engine = QueryEngine(runtime.store, clock)
            spec = QuerySpec(app=app, period="30d")

            def sequential() -> None:
                engine.aggregate(spec, [m for m, _, _ in HEADLINE], compare=True)
                engine.timeseries(spec, ["visitors", "pageviews"])
                engine.realtime_visitors(app)
                prop_keys(engine, spec)
                for p in PANELS:
                    metrics = ["visitors", p.second] if p.second else ["visitors"]
                    engine.breakdown(spec, p.tabs[0].dimension, metrics, limit=10)

            rows.append(
                (
                    "its queries one after another, in-process (30d)",
                    timed(sequential, max(3, args.runs // 3)),
                )
            )
            for label, times in rows:
                print(
                    f"  {label:58} {statistics.median(times):8.1f}   (p90 {sorted(times)[int(len(times) * 0.9) - 1]:.1f})"
                )

            html = http.get(f"/apps/{app.id}?period=30d").content
            css = http.get("/assets/dash.css", headers={"accept-encoding": "identity"}).content
            js = http.get("/assets/dash.js", headers={"accept-encoding": "identity"}).content
            sizes = {
                name: (len(body), len(gzip.compress(body, 6)))
                for name, body in (("HTML", html), ("CSS", css), ("JS", js))
            }
            total = sum(z for _, z in sizes.values())
            print(
                "page weight: "
                + ", ".join(
                    f"{n} {raw / 1024:.1f} KB ({z / 1024:.1f} KB gz)"
                    for n, (raw, z) in sizes.items()
                )
                + f"; total {total / 1024:.1f} KB gzipped"
            )
    finally:
        server.should_exit = True
        thread.join(30)


if __name__ == "__main__":
    main()
