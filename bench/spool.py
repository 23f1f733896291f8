"""Spool benchmark: what acknowledging a hit only once it is on disk costs, per fsync policy.

    python bench/spool.py [--seconds 2] [--payload 300] [--batch 100] [--dir DIR]

Appends one ~300-byte payload at a time for ``--seconds`` under each fsync policy (and
``append_many`` of ``--batch`` payloads under ``always``), in a fresh spool in a temporary
directory (``--dir``: on the disk the spool would live on), and prints appends/s and µs per
append next to the same run's baseline: appending the same bytes to a list in memory, which is
what the hit buffer does. Only same-run ratios count: absolute numbers swing with the machine.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from footfall.spool import Fsync, Spool

Row = tuple[str, int, float, list[float]]


def timed(seconds: float, step: Callable[[], int]) -> tuple[int, float, list[float]]:
    """Run ``step`` (returns how many payloads it appended) for about ``seconds``: payloads,
    elapsed seconds, and each call's duration."""
    clock = time.perf_counter
    count, calls, start = 0, [], clock()
    deadline = start + seconds
    while True:
        for _ in range(100):
            t0 = clock()
            count += step()
            calls.append(clock() - t0)
        if clock() >= deadline:
            return count, clock() - start, calls


def percentile(sorted_values: list[float], p: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=2.0, help="per row")
    parser.add_argument("--payload", type=int, default=300, help="bytes per record")
    parser.add_argument("--batch", type=int, default=100, help="records per append_many")
    parser.add_argument("--dir", type=Path, default=None, help="where the temporary spools go")
    args = parser.parse_args()
    payload = b"x" * args.payload
    batch = [payload] * args.batch
    rows: list[Row] = []

    memory: list[bytes] = []

    def to_list() -> int:
        memory.append(payload)
        return 1

    rows.append(("list.append (baseline)", *timed(args.seconds, to_list)))
    memory.clear()
    cases: list[tuple[str, Fsync, bool]] = [
        ("append, fsync=none", "none", False),
        ("append, fsync=interval", "interval", False),
        ("append, fsync=always", "always", False),
        (f"append_many({args.batch}), fsync=always", "always", True),
    ]
    for label, fsync, many in cases:
        with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
            spool = Spool(Path(tmp), owner="bench", fsync=fsync, max_bytes=1 << 40)

            def one(spool: Spool = spool) -> int:
                spool.append(payload)
                return 1

            def some(spool: Spool = spool) -> int:
                spool.append_many(batch)
                return len(batch)

            count, elapsed, calls = timed(args.seconds, some if many else one)
            spool.close()
            stats = spool.stats()
            label += f" ({stats.fsyncs} fsyncs, {stats.seals} seals)"
            rows.append((label, count, elapsed, calls))
    base_us = rows[0][2] / rows[0][1] * 1e6
    print(
        f"{args.payload}-byte payloads, {args.seconds:g} s per row; p50/p99/max: µs per call"
        " (append_many: per batch), timer overhead included"
    )
    head = ("appends/s", "µs/append", "× baseline", "p50", "p99", "max")
    print(f"{'':55}" + "".join(f"{h:>11}" for h in head))
    for label, count, elapsed, calls in rows:
        us = elapsed / count * 1e6
        calls.sort()
        tail = [percentile(calls, p) * 1e6 for p in (0.5, 0.99)] + [calls[-1] * 1e6]
        print(
            f"{label:55}{count / elapsed:11,.0f}{us:11.2f}{us / base_us:11.1f}"
            + "".join(f"{t:11.1f}" for t in tail)
        )


if __name__ == "__main__":
    main()
