"""Ingest benchmark: footfall's pixel endpoint against a bare GIF responder, on the same server stack.

    python bench/ingest.py [--duration 10] [--connections 64] [--workers 1] [--lag]

Starts each server (with ``--workers`` processes: uvicorn's own for the bare responder, footfall's
for footfall), drives it with wrk (apt-get install wrk) for a fixed time, and then (for footfall)
stops it with SIGTERM and checks that every acknowledged hit is in the DuckDB file. Prints hits/s,
p50/p99 latency, the ratio to the bare responder, and each server's peak RSS (all its processes
together) and its RSS after idling 5 s once the load stopped. ``--lag`` runs footfall once more at
half the rate it reached, sampling ``footfall_writer_lag_seconds`` (from a spool segment's creation
to its commit: the longest any of its hits waited) every 0.25 s. Only same-run ratios count:
absolute numbers swing with whatever else the machine is doing.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
PY = sys.executable


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(url: str, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(
                f"server exited early: {proc.communicate()[0].decode(errors='replace')}"
            )
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"server at {url} did not come up")


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo.extend(children.get(p, []))
    return tree


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process tree so far (robust to other load, unlike requests/s)."""
    total = 0
    for p in process_tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int, field: str = "VmHWM") -> float:
    """Resident memory of a process tree, in MB: the sum of each process's peak (``VmHWM``) or
    current (``VmRSS``) size."""
    total = 0
    for p in process_tree(pid):
        try:
            m = re.search(rf"{field}:\s+(\d+) kB", Path(f"/proc/{p}/status").read_text())
        except OSError:
            continue
        total += int(m.group(1)) if m else 0
    return total / 1024


IDLE_S = 5.0  # after the load: how long the server idles before its resident size is read again

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def run_wrk(
    url: str, duration: int, connections: int, app_id: str, delay_ms: float | None = None
) -> dict[str, float]:
    env = {**os.environ, "FOOTFALL_BENCH_APP": app_id}
    if delay_ms is not None:
        env["FOOTFALL_BENCH_DELAY_MS"] = f"{delay_ms:.3f}"
    cmd = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{duration}s",
        "--latency",
        "-s",
        str(HERE / "hits.lua"),
        url,
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    lat = {}
    for pct in ("50", "99"):
        m = re.search(rf"\s{pct}(?:\.000)?%\s+([\d.]+)(us|ms|s)", out)
        lat[pct] = float(m.group(1)) * _UNITS[m.group(2)] if m else float("nan")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return {
        "requests": requests,
        "rps": rps,
        "p50_ms": lat["50"],
        "p99_ms": lat["99"],
        "non2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "",  # type: ignore[dict-item]
    }


def server_cmd(target: str, port: int, workers: int = 1) -> list[str]:
    """uvicorn on the stack footfall serves on (uvloop, httptools)."""
    return [
        PY,
        "-m",
        "uvicorn",
        target,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
        "--workers",
        str(workers),
    ]


def bench_bare(duration: int, connections: int, workers: int = 1) -> dict[str, float]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    proc = subprocess.Popen(
        server_cmd("bare_gif:app", port, workers),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_up(f"http://127.0.0.1:{port}/p.gif", proc)
        cpu0 = cpu_seconds(proc.pid)
        result = run_wrk(f"http://127.0.0.1:{port}", duration, connections, "x")
        result["cpu_us"] = (cpu_seconds(proc.pid) - cpu0) / result["requests"] * 1e6
        result["rss_mb"] = rss_mb(proc.pid)
        time.sleep(IDLE_S)
        result["idle_rss_mb"] = rss_mb(proc.pid, "VmRSS")
    finally:
        proc.terminate()
        proc.wait(10)
    return result


def sample_lag(url: str, samples: list[float], stop: threading.Event) -> None:
    while not stop.wait(0.25):
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                text = resp.read().decode()
        except OSError:
            continue
        m = re.search(r"footfall_writer_lag_seconds ([\d.]+)", text)
        if m:
            samples.append(float(m.group(1)))


def bench_footfall(
    duration: int,
    connections: int,
    workdir: Path,
    serve: list[str] | None = None,
    workers: int = 1,
    rate: float | None = None,
) -> dict[str, float]:
    """``rate``: requests a second to send (spread over the connections) instead of the most."""
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "bench.duckdb"
    cli = [PY, "-m", "footfall"]
    app_id = subprocess.run(
        # cookie identity, as every figure in docs/benchmarks.md was measured with: each hit
        # (no cookies sent back) is a new visitor and session, the session tables' worst case
        [*cli, "apps", "create", "Bench", "--url", "https://site.example", "--identity", "cookie"]
        + ["--db", str(db)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[0]
    port = free_port()
    env = {
        **os.environ,
        "FOOTFALL_DB": str(db),
        "FOOTFALL_PORT": str(port),
        "FOOTFALL_LOG_LEVEL": "warning",
        "FOOTFALL_WORKERS": str(workers),
    }
    proc = subprocess.Popen(
        serve or [*cli, "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        wait_up(f"http://127.0.0.1:{port}/-/health", proc)
        time.sleep(1.0 if workers > 1 else 0)  # the collectors come up after the first process
        cpu0 = cpu_seconds(proc.pid)
        lags: list[float] = []
        stop = threading.Event()
        sampler = threading.Thread(
            target=sample_lag, args=(f"http://127.0.0.1:{port}/-/metrics", lags, stop)
        )
        sampler.start()
        delay = connections * 1000 / rate if rate else None
        try:
            result = run_wrk(f"http://127.0.0.1:{port}", duration, connections, app_id, delay)
        finally:
            stop.set()
            sampler.join()
        if lags:
            lags.sort()
            result["lag_p50_s"], result["lag_max_s"] = lags[len(lags) // 2], lags[-1]
        time.sleep(2.5)  # let the last timed flush land inside the measurement (and reports)
        result["cpu_us"] = (cpu_seconds(proc.pid) - cpu0) / result["requests"] * 1e6
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/metrics") as resp:
            metrics = resp.read().decode()
        result["rss_mb"] = rss_mb(proc.pid)
        time.sleep(IDLE_S)
        result["idle_rss_mb"] = rss_mb(proc.pid, "VmRSS")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(120)
    accepted = int(re.search(r"footfall_hits_accepted_total (\d+)", metrics).group(1))  # type: ignore[union-attr]
    ignored = sum(
        int(n) for n in re.findall(r"footfall_hits_ignored_total\{[^}]*\} (\d+)", metrics)
    )
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        stored = con.execute("SELECT count(*) FROM events").fetchone()[0]  # type: ignore[index]
    result.update(accepted=accepted, ignored=ignored, stored=stored)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--json", action="store_true", help="print the results as JSON too")
    parser.add_argument("--workers", type=int, default=1, help="processes of each server")
    parser.add_argument(
        "--lag", action="store_true", help="then footfall at half its rate: ack-to-commit lag"
    )
    parser.add_argument(
        "--variant",
        choices=["stock", "dict-sessions", "no-trim"],
        help="footfall with one part swapped out (bench/serve_variant.py)",
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk")
    with tempfile.TemporaryDirectory() as tmp:
        bare = bench_bare(args.duration, args.connections, args.workers)
        variant = [PY, str(HERE / "serve_variant.py"), args.variant] if args.variant else None
        ours = bench_footfall(
            args.duration, args.connections, Path(tmp) / "max", variant, args.workers
        )
        half = None
        if args.lag:
            half = bench_footfall(
                args.duration,
                args.connections,
                Path(tmp) / "half",
                variant,
                args.workers,
                rate=ours["rps"] / 2,
            )
    report(args, bare, ours, half)


def report(
    args: argparse.Namespace,
    bare: dict[str, float],
    ours: dict[str, float],
    half: dict[str, float] | None = None,
) -> None:
    ratio = ours["rps"] / bare["rps"]
    cpu_ratio = bare["cpu_us"] / ours["cpu_us"]
    lost = ours["accepted"] - ours["stored"]
    print(
        f"uvicorn, {args.workers} process(es) each, {args.duration}s, {args.connections}"
        " connections, wrk -t1 on the same machine"
    )
    print(
        f"{'':10} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'CPU us/req':>11} {'peak RSS MB':>12}"
        f" {'idle RSS MB':>12}"
    )
    for name, r in (("bare GIF", bare), ("footfall", ours)):
        print(
            f"{name:10} {r['rps']:>10,.0f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} "
            f"{r['cpu_us']:>11.1f} {r['rss_mb']:>12.0f} {r['idle_rss_mb']:>12.0f}"
        )
    print(
        f"ratio footfall/bare: {ratio:.2f} by req/s; {cpu_ratio:.2f} by server CPU per request (target >= 0.75)"
    )
    print(
        f"acknowledged by wrk: {ours['requests']:,}; accepted by footfall: {ours['accepted']:,}; "
        f"ignored: {ours['ignored']:,}; stored: {ours['stored']:,}; lost: {lost}"
    )
    print(f"non-2xx: {ours['non2xx']}, socket errors: {ours['socket_errors'] or 'none'}")
    if half is not None:
        print(
            f"at half that rate ({half['rps']:,.0f} req/s): p99 {half['p99_ms']:.2f} ms; writer lag"
            f" (segment created to committed) median {half.get('lag_p50_s', float('nan')):.2f} s,"
            f" max {half.get('lag_max_s', float('nan')):.2f} s; stored {half['stored']:,} of"
            f" {half['accepted']:,} accepted"
        )
    persisted = lost == 0 and ours["stored"] >= ours["requests"]
    if half is not None:
        persisted = persisted and half["stored"] == half["accepted"]
    print("every acknowledged hit persisted" if persisted else "HITS LOST")
    if args.json:
        print(
            json.dumps(
                {"bare": bare, "footfall": ours, "ratio": ratio, "cpu_ratio": cpu_ratio},
                default=str,
            )
        )
    sys.exit(0 if persisted else 1)


if __name__ == "__main__":
    main()
