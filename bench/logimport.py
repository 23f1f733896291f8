"""Access-log import speed: lines per second of `footfall import-log`'s importer on a generated,
realistic nginx combined log (pages, assets, bots, errors, several time zones), compared in the same
run with a floor that only matches the line regex.

    .venv/bin/python bench/logimport.py [--lines 300000]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from footfall.apps import AppRegistry
from footfall.clock import SystemClock
from footfall.enrich.pipeline import Enricher, default_steps
from footfall.logimport import FORMATS, LogImporter, open_log
from footfall.settings import Config
from footfall.store.duckdb import DuckDBStore

PAGES = ["/", "/pricing", "/blog/", "/blog/why-we-built-it", "/docs/install", "/docs/api?v=2",
         "/caf%C3%A9/menu", "/about", "/contact", "/memes/cat-in-box.png"]  # fmt: skip
ASSETS = ["/static/app.css", "/static/app.js", "/favicon.ico", "/img/logo.svg", "/fonts/a.woff2"]
UAS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
]
REFERRERS = [
    "-",
    "-",
    "https://www.google.com/",
    "https://news.ycombinator.com/item?id=1",
    "https://site.example/",
]
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def generate(path: Path, lines: int, seed: int = 5) -> None:
    rnd = random.Random(seed)
    ips = [
        f"{rnd.randint(1, 223)}.{rnd.randint(0, 255)}.{rnd.randint(0, 255)}.{rnd.randint(1, 254)}"
        for _ in range(5000)
    ]
    t = 1_767_225_600  # 2026-01-01
    with path.open("w") as f:
        for _ in range(lines):
            t += rnd.choice((0, 0, 1, 1, 2))
            day, rest = divmod(t, 86_400)
            y, m, d = time.gmtime(t)[:3]
            hh, mm, ss = rest // 3600, rest // 60 % 60, rest % 60
            target = rnd.choice(ASSETS) if rnd.random() < 0.35 else rnd.choice(PAGES)
            status = rnd.choices((200, 304, 301, 404, 500), (85, 6, 3, 5, 1))[0]
            f.write(
                f"{rnd.choice(ips)} - - [{d:02d}/{MONTHS[m - 1]}/{y}:{hh:02d}:{mm:02d}:{ss:02d} +0000] "
                f'"GET {target} HTTP/1.1" {status} {rnd.randint(200, 90_000)} '
                f'"{rnd.choice(REFERRERS)}" "{rnd.choice(UAS)}"\n'
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=300_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "access.log"
        generate(log, args.lines)
        size_mb = log.stat().st_size / 1e6

        pattern = FORMATS["combined"]
        start, cpu = time.perf_counter(), time.process_time()
        with open_log(str(log)) as f:
            matched = sum(1 for line in f if pattern.match(line))
        floor, floor_cpu = time.perf_counter() - start, time.process_time() - cpu

        store = DuckDBStore(str(Path(tmp) / "bench.duckdb"))
        app = AppRegistry(store, SystemClock()).create("Bench", "https://site.example")
        enricher = Enricher(default_steps(Config()))
        results = []
        for label in ("first import", "second import (all duplicates)"):
            importer = LogImporter(store, app, enricher)
            start, cpu = time.perf_counter(), time.process_time()
            with open_log(str(log)) as f:
                report = importer.run(f)
            wall, cpu = time.perf_counter() - start, time.process_time() - cpu
            results.append((label, wall, cpu, report))
        store.close()

    print(f"log: {args.lines:,} lines, {size_mb:.1f} MB ({matched:,} match the combined format)")
    print("(the machine is shared: wall-clock rates vary with other load; CPU-time rates less)")
    print(f"{'':34} {'wall lines/s':>14} {'CPU lines/s':>14}")
    print(
        f"{'regex match only (floor)':34} {args.lines / floor:>14,.0f} {args.lines / floor_cpu:>14,.0f}"
    )
    for label, wall, cpu, report in results:
        print(f"{label:34} {report.read / wall:>14,.0f} {report.read / cpu:>14,.0f}")
    first = results[0][3]
    print(f"first import: {first.imported:,} imported, skipped {dict(first.skipped)}")
    print(f"import / floor CPU-time ratio: {results[0][2] / floor_cpu:.1f}x")


if __name__ == "__main__":
    main()
