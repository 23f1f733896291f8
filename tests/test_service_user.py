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


def pipeline_pixels(port: int, app_id: str, count: int, batch: int = 500) -> int:
    """Send ``count`` pixel requests over one connection, ``batch`` at a time; the hits answered
    without an X-Footfall-Ignored header."""
    counted = 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        for start in range(0, count, batch):
            n = min(batch, count - start)
            sock.sendall(
                b"".join(
                    f"GET /p.gif?app={app_id}&path=/p{start + i} HTTP/1.1\r\nHost: s\r\n\r\n".encode()
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
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_health_answers_503_while_the_store_cannot_write(tmp_path: Path) -> None:
    db = tmp_path / "footfall.duckdb"
    app_id = footfall(
        "apps", "create", "Site", "--url", "https://s.example", "--db", str(db)
    ).stdout.split()[0]
    port = free_port()
    limit = db.stat().st_size + 1_000_000  # a full disk, as far as the server can tell
    proc = start_server(db, port, "--flush-size", "2000", preexec_fn=limit_file_size(limit))
    try:
        pipeline_pixels(port, app_id, 60_000)
        deadline = time.monotonic() + 20
        while (health := httpx.get(f"http://127.0.0.1:{port}/-/health")).status_code == 200:
            assert time.monotonic() < deadline, "health stayed 200 while writes failed"
            time.sleep(0.2)
        assert health.status_code == 503
        body = health.json()
        assert body["reason"].startswith("writes to the store fail")
        assert body["pending"] > 0
    finally:
        proc.kill()
        output = proc.communicate(timeout=30)[0].decode(errors="replace")
    assert output.count("to the store failed; they are kept in memory") == 1, output
    assert "File too large" in output and "cannot rollback" not in output  # the disk's own error
