"""``--workers N``: N real processes share the port; every acknowledged hit is stored once, and a
visitor's hits make one visit whichever process took them (footfall.workers)."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import httpx
import pytest

from tests.live import free_port
from tests.test_durability import footfall, start_server

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0"
pytestmark = pytest.mark.slow


def create_app(db: Path, name: str = "Shared") -> str:
    return footfall(
        "apps", "create", name, "--url", "https://w.example", "--db", str(db)
    ).stdout.split()[0]


def send(port: int, app_id: str, paths: list[str], ip: str = "198.51.100.7") -> list[str]:
    """One connection a hit, so the kernel spreads them over the processes; the paths answered
    without an ``X-Footfall-Ignored`` header."""
    taken = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
        for path in paths:
            try:
                resp = http.get(
                    f"/p.gif?app={app_id}&path={path}",
                    headers={"User-Agent": CHROME, "Connection": "close", "X-Forwarded-For": ip},
                )
            except httpx.TransportError:  # the server is gone
                break
            if resp.status_code == 200 and "x-footfall-ignored" not in resp.headers:
                taken.append(path)
    return taken


def stop(proc: subprocess.Popen[bytes]) -> str:
    proc.send_signal(signal.SIGTERM)
    output = proc.communicate(timeout=60)[0].decode(errors="replace")
    assert proc.returncode in (0, -signal.SIGTERM), output
    return output


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def collectors(proc: subprocess.Popen[bytes]) -> list[int]:
    """The pids of the server's collector processes (its spawned children, not the resource
    tracker multiprocessing starts beside them)."""
    pids = []
    for task in Path(f"/proc/{proc.pid}/task").iterdir():
        for pid in (task / "children").read_text().split():
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            if b"spawn_main" in cmdline:
                pids.append(int(pid))
    return pids


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def wait_for(check: object, what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def serving(port: int, processes: int) -> bool:
    """Whether /-/health counts that many processes serving (each collector reports when up)."""
    return httpx.get(f"http://127.0.0.1:{port}/-/health").json().get("processes") == processes


def test_two_processes_take_hits_and_one_writer_stores_each_once(tmp_path: Path) -> None:
    db = tmp_path / "f.duckdb"
    app_id = create_app(db)
    port = free_port()
    proc = start_server(db, port, "--workers", "2", "--flush-interval", "0.3")
    assert len(collectors(proc)) == 1
    wait_for(lambda: serving(port, 2), "the collector did not come up")
    with ThreadPoolExecutor(4) as pool:
        batches = [[f"/t{t}/{i}" for i in range(100)] for t in range(4)]
        taken = [p for part in pool.map(lambda b: send(port, app_id, b), batches) for p in part]
    assert len(taken) == 400
    # every process reports its counts to the writer: /-/metrics adds them up, in any process
    wait_for(
        lambda: (
            "footfall_hits_accepted_total 400"
            in httpx.get(f"http://127.0.0.1:{port}/-/metrics").text
        ),
        "the accepted hits of both processes were not summed",
    )
    stop(proc)
    stored = [p for (p,) in rows(db, "SELECT path FROM events")]
    assert sorted(stored) == sorted(taken)
    owners = {re.sub(r"-\d+\+\d+$", "", n) for (n,) in rows(db, "SELECT name FROM loaded_batches")}
    assert owners == {"server", "collector-1"}  # both processes took hits
    # one visitor (same address and agent, cookieless): one visit across both processes
    assert rows(
        db, "SELECT count(DISTINCT visitor_id), count(DISTINCT session_id) FROM events"
    ) == [(1, 1)]


def test_an_app_created_while_running_is_taken_by_every_process(tmp_path: Path) -> None:
    db = tmp_path / "f.duckdb"
    create_app(db)
    port = free_port()
    proc = start_server(db, port, "--workers", "2")
    try:
        wait_for(lambda: serving(port, 2), "the collector did not come up")
        new_app = create_app(db, "Later")  # through the writer's socket, while it runs
        acknowledged, deadline = 0, time.monotonic() + 20
        while True:  # 20 connections: both processes; all taken once both know the app
            taken = len(send(port, new_app, ["/n"] * 20))
            acknowledged += taken
            if taken == 20:
                break
            assert time.monotonic() < deadline, "a process does not know the new app"
        # the Stats API answers the same in every process, once the writer has stored them all
        key = footfall("keys", "create", "--db", str(db)).stdout.split()[0]
        wait_for(
            lambda: aggregate(port, key, new_app) == [acknowledged] * 8, "the processes differ"
        )
    finally:
        stop(proc)


def aggregate(port: int, key: str, app_id: str) -> list[int]:
    """The app's pageviews from the Stats API, asked on 8 connections (so of both processes)."""
    answers = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
        for _ in range(8):
            resp = http.get(
                "/api/v1/stats/aggregate",
                params={"site_id": app_id, "period": "day", "metrics": "pageviews"},
                headers={"Authorization": f"Bearer {key}", "Connection": "close"},
            )
            answers.append(resp.json()["results"]["pageviews"]["value"])
    return answers


def test_a_killed_collector_is_started_again_and_nothing_it_acknowledged_is_lost(
    tmp_path: Path,
) -> None:
    db = tmp_path / "f.duckdb"
    app_id = create_app(db)
    port = free_port()
    proc = start_server(db, port, "--workers", "2", "--flush-interval", "0.3")
    [collector] = collectors(proc)
    wait_for(lambda: serving(port, 2), "the collector did not come up")
    with ThreadPoolExecutor(3) as pool:
        sending = [
            pool.submit(send, port, app_id, [f"/k{t}/{i}" for i in range(300)]) for t in range(3)
        ]
        time.sleep(1.0)
        os.kill(collector, signal.SIGKILL)
        taken = [p for f in sending for p in f.result()]
    wait_for(lambda: collectors(proc) not in ([], [collector]), "the collector was not restarted")
    output = stop(proc)
    assert "collector 1 exited" in output
    stored = [p for (p,) in rows(db, "SELECT path FROM events")]
    assert len(stored) == len(set(stored)), "a hit was stored twice"
    assert not set(taken) - set(stored), "an acknowledged hit was lost"


def test_collectors_stop_with_the_writer_even_when_it_is_killed(tmp_path: Path) -> None:
    db = tmp_path / "f.duckdb"
    app_id = create_app(db)
    port = free_port()
    proc = start_server(db, port, "--workers", "3", "--flush-interval", "3600")
    children = collectors(proc)
    assert len(children) == 2
    wait_for(lambda: serving(port, 3), "the collectors did not come up")
    taken = send(port, app_id, [f"/x{i}" for i in range(60)])
    proc.kill()
    proc.communicate(timeout=30)
    wait_for(lambda: not any(map(running, children)), "a collector outlived the writer")
    restarted = start_server(db, port)  # one process loads what the three left in the spool
    stop(restarted)
    stored = [p for (p,) in rows(db, "SELECT path FROM events")]
    assert sorted(stored) == sorted(taken) and len(taken) == 60


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--workers", "0"], "--workers: at least 1"),
        (["--workers", "2", "--db", ":memory:"], "--workers: more than one needs a database file"),
    ],
)
def test_unusable_worker_counts_are_refused(tmp_path: Path, args: list[str], message: str) -> None:
    result = footfall(
        "serve", "--port", str(free_port()), "--db", str(tmp_path / "f.duckdb"), *args
    )
    assert result.returncode != 0 and message in result.stderr
    assert "Traceback" not in result.stderr


def test_every_acknowledged_hit_survives_five_kills_of_every_process(tmp_path: Path) -> None:
    """SIGKILL to the writer and its collectors at once, at a random moment under load, five
    times over: after the last restart every hit answered without X-Footfall-Ignored is stored,
    and none twice."""
    db = tmp_path / "f.duckdb"
    app_id = create_app(db)
    port = free_port()
    rng = random.Random(7)
    answered: list[str] = []
    for round_ in range(5):
        proc = start_server(
            db,
            port,
            "--workers",
            "2",
            "--flush-interval",
            "0.3",
            "--spool-fsync",
            "none",
            start_new_session=True,
        )
        wait_for(lambda: serving(port, 2), "the collector did not come up")

        def load(prefix: str) -> list[str]:
            taken = []
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
                for i in range(1_000_000):
                    path = f"{prefix}/{i}"
                    try:
                        resp = http.get(f"/p.gif?app={app_id}&path={path}")
                    except httpx.TransportError:
                        return taken
                    if resp.status_code == 200 and "x-footfall-ignored" not in resp.headers:
                        taken.append(path)
            return taken

        with ThreadPoolExecutor(4) as pool:
            sending = [pool.submit(load, f"/r{round_}/s{s}") for s in range(4)]
            time.sleep(rng.uniform(0.5, 2.5))
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate(timeout=30)
            answered += [p for f in sending for p in f.result()]
    stop(start_server(db, port))
    stored = [p for (p,) in rows(db, "SELECT path FROM events")]
    assert len(stored) == len(set(stored)), "a hit was stored twice"
    missing = set(answered) - set(stored)
    assert not missing, f"{len(missing)} of {len(answered)} acknowledged hits were lost"
    assert len(answered) > 1_000


def test_metrics_name_what_an_operator_watches(tmp_path: Path) -> None:
    db = tmp_path / "f.duckdb"
    app_id = create_app(db)
    port = free_port()
    proc = start_server(db, port, "--flush-interval", "0.2")
    try:
        send(port, app_id, ["/m"] * 5)
        wait_for(
            lambda: (
                "footfall_hits_written_total 5"
                in httpx.get(f"http://127.0.0.1:{port}/-/metrics").text
            ),
            "the hits were not written",
        )
        metrics = dict(
            line.split(" ")
            for line in httpx.get(f"http://127.0.0.1:{port}/-/metrics").text.splitlines()
            if not line.startswith("#")
        )
    finally:
        stop(proc)
    assert metrics["footfall_hits_accepted_total"] == "5"
    assert metrics["footfall_spool_segments"] == "0" and metrics["footfall_spool_bytes"] == "0"
    assert 0 < float(metrics["footfall_writer_lag_seconds"]) < 30
    assert 0 < float(metrics["footfall_writer_load_seconds"]) < 30
