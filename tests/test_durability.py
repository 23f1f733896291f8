"""No hit acknowledged and then lost: a real `footfall serve` process, SIGTERM, and the DuckDB file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest

from tests.live import free_port

FOOTFALL = [sys.executable, "-m", "footfall"]


def footfall(
    *args: str, env: dict[str, str] | None = None, input: str | None = None, **popen: Any
) -> subprocess.CompletedProcess[str]:
    """``popen``: more of subprocess.run's options (cwd, preexec_fn)."""
    return subprocess.run(
        [*FOOTFALL, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        input=input,
        **popen,
    )


def start_server(
    db: Path, port: int, *extra: str, environ: dict[str, str] | None = None, **popen: Any
) -> subprocess.Popen[bytes]:
    """``footfall serve`` on ``db`` once its health check answers; ``popen`` as for footfall()."""
    base = os.environ if environ is None else environ
    env = {**base, "FOOTFALL_DB": str(db), "FOOTFALL_PORT": str(port)}
    proc = subprocess.Popen(
        [*FOOTFALL, "serve", *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        **popen,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/-/health", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("server did not start: " + proc.communicate()[0].decode(errors="replace"))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_every_acknowledged_hit_is_in_the_file_after_a_signal(
    tmp_path: Path, sig: signal.Signals
) -> None:
    db = tmp_path / "f.duckdb"
    app_id = footfall(
        "apps", "create", "Durable", "--url", "https://d.example", "--db", str(db)
    ).stdout.split()[0]
    port = free_port()
    # a long flush interval and a big flush size: nothing is written until the signal arrives
    proc = start_server(db, port, "--flush-interval", "3600", "--flush-size", "1000000")
    acknowledged = 0

    def send(worker: int) -> int:
        ok = 0
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
            for i in range(150):
                resp = http.get(f"/p.gif?app={app_id}&path=/w{worker}/{i}")
                ok += resp.status_code == 200 and "x-footfall-ignored" not in resp.headers
        return ok

    with ThreadPoolExecutor(4) as pool:
        acknowledged = sum(pool.map(send, range(4)))
    assert acknowledged == 600
    proc.send_signal(sig)
    output = proc.communicate(timeout=30)[0].decode(errors="replace")
    assert proc.returncode in (0, -sig), (
        output
    )  # uvicorn re-raises the signal once shut down cleanly
    assert "shut down after writing 600 hits" in output
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*), count(DISTINCT path) FROM events").fetchone() == (
            600,
            600,
        )
