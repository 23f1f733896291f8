"""Enrichment benchmark: hits/s of the enrichment pipeline alone, with and without its caches.

    python bench/enrich.py [--hits 50000] [--distinct 2000] [--uncached 2000]
    python bench/enrich.py --ingest [--duration 10] [--connections 64]

The first form runs the real steps (``default_steps``) in this process over a realistic mix: a
Zipf-distributed draw from ``--distinct`` user agents (real browser, app and bot user agents with
varied version numbers), referrers, client addresses and campaign URLs. It reports a cold pass (every
new user agent parsed once), a warm pass (what a running server sees) and a pass with the caches off.

``--ingest`` re-runs bench/ingest.py's end-to-end measurement (wrk against the real server) twice per
round: footfall as shipped, and footfall with only the core ``anonymize-ip`` step, and prints how much
enrichment costs end to end (target: at most 20% fewer hits/s).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from tests.enrich.agents import BOTS, BROWSERS, MORE_BROWSERS  # noqa: E402

from footfall.enrich.pipeline import Enricher, default_steps  # noqa: E402
from footfall.model import App, Context, Hit  # noqa: E402
from footfall.settings import Config  # noqa: E402

APP = App(id="00000000-0000-4000-8000-000000000001", name="Bench", url="https://site.example")
REFERRERS = [
    None,
    None,
    None,
    "https://www.google.com/",
    "https://www.google.de/",
    "https://www.bing.com/search?q=x",
    "https://duckduckgo.com/",
    "https://chatgpt.com/",
    "https://news.ycombinator.com/item?id=1",
    "https://t.co/abc",
    "https://l.facebook.com/l.php",
    "https://site.example/blog/",
    "https://blog.example.org/post",
]
URLS = [
    "https://site.example/",
    "https://site.example/blog/post-1",
    "https://site.example/pricing",
    "https://site.example/sale?utm_source=newsletter&utm_medium=email&utm_campaign=spring",
    "https://site.example/?gclid=abc123",
]
IPS = ["8.8.8.8", "193.0.6.139", "1.0.16.1", "2001:4860:4860::8888", "81.2.69.142", "203.0.113.5"]


def user_agents(distinct: int, rng: random.Random) -> list[str]:
    """``distinct`` user agents: real ones, then variants with other version numbers."""
    base = [b[0] for b in BROWSERS.values()] + list(MORE_BROWSERS) + [b[0] for b in BOTS.values()]
    out = list(dict.fromkeys(base))
    while len(out) < distinct:
        ua = rng.choice(base)
        out.append(
            ua.replace(
                "131.0.0.0",
                f"{rng.randint(100, 140)}.0.{rng.randint(0, 9999)}.{rng.randint(0, 99)}",
            )
            .replace("17_6", f"17_{rng.randint(0, 9)}")
            .replace("Android 14", f"Android {rng.randint(8, 15)}")
            + ("" if rng.random() < 0.5 else f" Build/{rng.randint(1000, 9999)}")
        )
    return out[:distinct]


def workload(n: int, distinct: int, seed: int = 7) -> list[tuple[Hit, Context]]:
    rng = random.Random(seed)
    agents = user_agents(distinct, rng)
    weights = [1 / (rank + 1) ** 1.1 for rank in range(len(agents))]  # a few agents dominate
    picks = rng.choices(agents, weights=weights, k=n)
    hits = []
    for ua in picks:
        url = rng.choice(URLS)
        hit = Hit(
            url=url,
            path=url.split("site.example", 1)[1].split("?")[0] or "/",
            hostname="site.example",
            referrer=rng.choice(REFERRERS),
            user_agent=ua,
        )
        hits.append((hit, Context(ip=rng.choice(IPS), user_agent=ua)))
    return hits


def run(enricher: Enricher, work: list[tuple[Hit, Context]]) -> float:
    """Seconds to enrich every hit once (each run on fresh copies, so steps do all their work)."""
    import msgspec

    copies = [(msgspec.structs.replace(h), c) for h, c in work]
    start = time.perf_counter()
    for hit, ctx in copies:
        enricher(hit, ctx, APP)
    return time.perf_counter() - start


def pipeline(args: argparse.Namespace) -> None:
    work = workload(args.hits, args.distinct)
    cached = Enricher(default_steps(Config()))
    cold = run(cached, work)
    warm = min(run(cached, work) for _ in range(3))
    uncached = Enricher(default_steps(Config(), cache_size=0))
    some = work[: args.uncached]
    nocache = run(uncached, some)
    distinct = len({h.user_agent for h, _ in work})
    print(f"enrichment pipeline alone: steps {', '.join(cached.names)}")
    print(
        f"workload: {len(work):,} hits, {distinct:,} distinct user agents (Zipf), {len(IPS)} addresses"
    )
    print(f"{'':26} {'hits/s':>10} {'us/hit':>8}")
    for name, secs, count in (
        ("cached, cold (first pass)", cold, len(work)),
        ("cached, warm", warm, len(work)),
        ("no cache", nocache, len(some)),
    ):
        print(f"{name:26} {count / secs:>10,.0f} {secs / count * 1e6:>8.1f}")
    print("per step, warm (us/hit):")
    for step in cached.steps:
        single = Enricher([step])
        secs = min(run(single, work) for _ in range(2))
        print(f"  {step.name:14} {secs / len(work) * 1e6:6.2f}")


def in_process(args: argparse.Namespace) -> None:
    """Ingest.process + buffer flush into a real DuckDB file, core steps vs all steps, interleaved:
    CPU time per hit without HTTP, the least noisy end-to-end comparison on a shared machine."""
    import msgspec

    from footfall.enrich.ipaddr import AnonymizeIP
    from footfall.enrich.pipeline import Step
    from footfall.runtime import Runtime

    work = workload(args.hits, args.distinct)
    results: dict[str, list[float]] = {"core": [], "enriched": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(3):
            for name in ("core", "enriched"):
                config = Config(db=f"{tmp}/{name}{i}.duckdb", flush_interval=3600)
                rt = Runtime.build(config)
                if name == "core":
                    rt.ingest.enricher = Enricher([Step("anonymize-ip", AnonymizeIP())])
                app = rt.apps.create("Bench", "https://site.example", "cookie")
                items = [
                    (
                        msgspec.structs.replace(h, app_id=app.id),
                        Context(ip=c.ip, user_agent=c.user_agent),
                    )
                    for h, c in work
                ]
                for h, c in items:  # steady state: a running server has seen these agents
                    rt.ingest.enricher(msgspec.structs.replace(h), c, APP)
                start = time.process_time()
                for h, c in items:
                    rt.ingest.process(h, c)
                rt.buffer.flush()
                results[name].append((time.process_time() - start) / len(items) * 1e6)
                rt.store.close()
    core, enriched = min(results["core"]), min(results["enriched"])
    print("in process, Ingest.process + flush to DuckDB, caches warm (CPU us/hit, best of 3):")
    print(
        f"  core steps {core:.1f}, enrichment {enriched:.1f}: enrichment adds {enriched - core:.1f} us/hit"
    )


def ingest(args: argparse.Namespace) -> None:
    import ingest as core  # bench/ingest.py

    core_only = [sys.executable, str(ROOT / "bench" / "serve_core.py")]
    rows: dict[str, list[dict[str, float]]] = {"enriched": [], "core": []}
    with tempfile.TemporaryDirectory() as tmp:
        bare = core.bench_bare(args.duration, args.connections)
        for i in range(args.rounds):
            for name in ("core", "enriched"):
                workdir = Path(tmp) / f"{name}{i}"
                workdir.mkdir()
                serve = core_only if name == "core" else None
                rows[name].append(
                    core.bench_footfall(args.duration, args.connections, workdir, serve=serve)
                )
    best = {name: max(r, key=lambda x: x["rps"]) for name, r in rows.items()}
    print(
        f"uvicorn, {args.duration}s x {args.rounds} rounds, {args.connections} connections, wrk -t1; best round shown"
    )
    print(f"{'':22} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'CPU us/req':>11} {'stored':>9}")
    print(
        f"{'bare GIF':22} {bare['rps']:>10,.0f} {bare['p50_ms']:>8.2f} {bare['p99_ms']:>8.2f} {bare['cpu_us']:>11.1f} {'-':>9}"
    )
    for name, label in (("core", "footfall, core steps"), ("enriched", "footfall, enrichment")):
        r = best[name]
        print(
            f"{label:22} {r['rps']:>10,.0f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} {r['cpu_us']:>11.1f} {r['stored']:>9,}"
        )
    by_rps = best["enriched"]["rps"] / best["core"]["rps"]
    cpu = min(r["cpu_us"] for r in rows["core"]) / min(r["cpu_us"] for r in rows["enriched"])
    print(
        f"enriched/core: {by_rps:.2f} by req/s, {cpu:.2f} by server CPU per request (target >= 0.80)"
    )
    lost = sum(r["accepted"] - r["stored"] for rs in rows.values() for r in rs)
    print("every acknowledged hit persisted" if lost == 0 else f"HITS LOST: {lost}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hits", type=int, default=50_000)
    parser.add_argument("--distinct", type=int, default=2_000)
    parser.add_argument("--uncached", type=int, default=2_000, help="hits for the no-cache pass")
    parser.add_argument(
        "--ingest",
        action="store_true",
        help="end to end: bench/ingest.py with and without enrichment",
    )
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    if args.ingest:
        ingest(args)
    else:
        pipeline(args)
        in_process(args)


if __name__ == "__main__":
    main()
