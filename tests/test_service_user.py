"""footfall run the way docs/deployment.md's systemd unit runs it: as an unprivileged user, from a
working directory it cannot write, the database in a directory only that user owns. Every hit it
acknowledges is stored, and a store that stops taking writes is reported, not hidden."""

from __future__ import annotations

import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest

from tests.live import free_port
from tests.test_durability import footfall, start_server

NOBODY = 65534


def as_nobody() -> None:
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


def nobody_can_run_footfall() -> bool:
    if os.geteuid() != 0:
        return False
    probe = [sys.executable, "-c", "import footfall"]
    try:  # the interpreter may live under a directory only root can enter (/root/.pyenv)
        ran = subprocess.run(probe, preexec_fn=as_nobody, cwd="/", capture_output=True)
    except PermissionError:
        return False
    return ran.returncode == 0


class ServiceUser:
    """How to start footfall like the unit does: as ``nobody`` from ``/`` when the tests run as
    root (and ``nobody`` can reach the interpreter), else from ``/proc``, which no user can write."""

    def __init__(self) -> None:
        self.drop: Callable[[], None] | None = as_nobody if nobody_can_run_footfall() else None
        self.cwd = "/" if self.drop else "/proc"

    def popen(self, **more: Any) -> dict[str, Any]:
        options: dict[str, Any] = {"cwd": self.cwd, **more}
        if self.drop:
            options["preexec_fn"] = self.drop
        return options


@pytest.fixture
def state_directory() -> Iterator[Path]:
    """What ``StateDirectory=footfall`` makes: a directory the service user owns (0700)."""
    path = Path(tempfile.mkdtemp(prefix="footfall-state-"))
    if os.geteuid() == 0:
        os.chown(path, NOBODY, NOBODY)
    yield path
    subprocess.run(["rm", "-rf", str(path)], check=True)


def create_app(db: Path, user: ServiceUser) -> str:
    made = footfall(
        "apps", "create", "Site", "--url", "https://s.example", "--db", str(db), **user.popen()
    )
    assert made.returncode == 0, made.stderr
    return made.stdout.split()[0]


def pipeline_pixels(port: int, app_id: str, count: int, batch: int = 500, start: int = 0) -> int:
    """Send ``count`` pixel requests over one connection, ``batch`` at a time, paths numbered
    from ``start``; the hits answered without an X-Footfall-Ignored header."""
    counted = 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        for offset in range(0, count, batch):
            n = min(batch, count - offset)
            sock.sendall(
                b"".join(
                    f"GET /p.gif?app={app_id}&path=/p{start + offset + i} HTTP/1.1\r\nHost: s\r\n\r\n".encode()
                    for i in range(n)
                )
            )
            replies = b""
            while replies.count(b"HTTP/1.1 ") < n or not replies.endswith(b";"):
                chunk = sock.recv(1 << 20)
                assert chunk, "the server closed the connection"
                replies += chunk
            heads = replies.split(b"HTTP/1.1 ")[1:]
            counted += sum(h.startswith(b"200") and b"x-footfall-ignored" not in h for h in heads)
    return counted


def test_served_as_a_service_user_every_acknowledged_hit_is_stored(
    state_directory: Path,
) -> None:
    user = ServiceUser()
    db = state_directory / "footfall.duckdb"
    app_id = create_app(db, user)
    port = free_port()
    proc = start_server(db, port, **user.popen())
    try:
        acknowledged = pipeline_pixels(port, app_id, 30_000)
        assert httpx.get(f"http://127.0.0.1:{port}/-/health").json()["status"] == "ok"
    finally:
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=60)[0].decode(errors="replace")
    assert acknowledged == 30_000
    assert "Permission denied" not in output and "invalidated" not in output, output
    assert (state_directory / "footfall.duckdb.tmp").is_dir()  # where DuckDB spills, made at start
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM events").fetchone() == (30_000,)


def test_an_unusable_spill_directory_stops_the_start_with_its_path(
    state_directory: Path,
) -> None:
    user = ServiceUser()
    db = state_directory / "footfall.duckdb"
    create_app(db, user)
    refused = footfall(
        "serve",
        "--db",
        str(db),
        "--db-temp",
        "/dev/null/spill",
        "--port",
        str(free_port()),
        **user.popen(),
    )
    assert refused.returncode != 0
    assert "/dev/null/spill" in refused.stderr and "--db-temp" in refused.stderr
    assert "Traceback" not in refused.stderr


def limit_file_size(limit: int) -> Callable[[], None]:
    """A full disk, as far as the process can tell: writes past ``limit`` bytes in any file fail
    with EFBIG, until the soft limit is raised again (the hard limit stays unlimited)."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))

    return apply


def test_a_store_that_cannot_write_is_reported_and_catches_up_once_it_can(
    tmp_path: Path,
) -> None:
    """The database file cannot grow: /-/health says so with the spool's backlog, hits are still
    acknowledged into the spool (its segments stay small), and once the file can grow again the
    writer reconnects and stores every acknowledged hit, with no restart."""
    db = tmp_path / "footfall.duckdb"
    app_id = footfall(
        "apps", "create", "Site", "--url", "https://s.example", "--db", str(db)
    ).stdout.split()[0]
    port = free_port()
    limit = db.stat().st_size + 1_000_000
    proc = start_server(db, port, "--flush-interval", "0.1", preexec_fn=limit_file_size(limit))
    base = f"http://127.0.0.1:{port}"
    try:
        acknowledged = sent = 0
        deadline = time.monotonic() + 60
        while (health := httpx.get(f"{base}/-/health")).status_code == 200:
            assert time.monotonic() < deadline, "health stayed 200 while writes failed"
            acknowledged += pipeline_pixels(port, app_id, 5_000, start=sent)
            sent += 5_000
        body = health.json()
        assert body["reason"].startswith("writes to the store fail"), body
        acknowledged += pipeline_pixels(port, app_id, 5_000, start=sent)
        assert httpx.get(f"{base}/-/health/ready").json()["spool_bytes"] > 0
        resource.prlimit(proc.pid, resource.RLIMIT_FSIZE, (-1, -1))  # the disk has room again
        deadline = time.monotonic() + 60
        while httpx.get(f"{base}/-/health").status_code != 200:
            assert time.monotonic() < deadline, "writing did not resume"
            time.sleep(0.2)
    finally:
        proc.terminate()
        output = proc.communicate(timeout=60)[0].decode(errors="replace")
    assert output.count("to the store failed; they stay in the spool") == 1, output
    assert "File too large" in output and "cannot rollback" not in output  # the disk's own error
    with duckdb.connect(str(db), read_only=True) as con:
        stored, distinct = con.execute(
            "SELECT count(*), count(DISTINCT path) FROM events"
        ).fetchone()
    assert stored == distinct == acknowledged
