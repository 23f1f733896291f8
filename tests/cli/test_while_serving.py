"""Every CLI command works while `footfall serve` holds the DuckDB file: the command reaches the
server's store through `<db>.sock`, and the server sees the change at once."""

from __future__ import annotations

import json
import os
import pickle
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.dashboard.helpers import enrol, log_in
from tests.live import free_port
from tests.test_durability import footfall, start_server
from tests.test_service_user import NOBODY

LOG_LINE = (
    '203.0.113.{n} - - [04/Dec/2026:10:{m:02d}:00 +0000] "GET /from-log/{n} HTTP/1.1" 200 512 "-"'
    ' "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"\n'
)


class Running:
    def __init__(self, db: Path, app_id: str, port: int, proc: subprocess.Popen[bytes]) -> None:
        self.db, self.app_id, self.proc = db, app_id, proc
        self.url = f"http://127.0.0.1:{port}"

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        out = footfall(*args, "--db", str(self.db))
        assert "Traceback" not in out.stderr, out.stderr
        return out


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    db = tmp_path / "f.duckdb"
    made = footfall("apps", "create", "First", "--url", "first.example", "--db", str(db))
    assert made.returncode == 0, made.stderr
    port = free_port()
    proc = start_server(db, port, "--flush-interval", "0.1")
    yield Running(db, made.stdout.split()[0], port, proc)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)


def test_apps_made_by_a_command_take_hits_at_once(running: Running) -> None:
    made = running.cli("apps", "create", "Second", "--url", "second.example")
    assert made.returncode == 0, made.stderr
    app_id = made.stdout.split()[0]
    assert "Second" in running.cli("apps", "list").stdout
    resp = httpx.get(f"{running.url}/p.gif", params={"app": app_id, "path": "/new"})
    assert "x-footfall-ignored" not in resp.headers  # the server knows the new app
    assert running.cli("apps", "set", "Second", "--identity", "cookieless").returncode == 0


def test_stats_and_export_read_the_running_servers_hits(running: Running, tmp_path: Path) -> None:
    app_id = running.app_id
    browser = {"user-agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 Safari/537.36"}
    for n in range(3):  # (a browser's: bots are not counted)
        httpx.get(f"{running.url}/p.gif", params={"app": app_id, "path": f"/p{n}"}, headers=browser)
    stats = {}
    for _ in range(100):  # hits reach the store within --flush-interval
        stats = json.loads(running.cli("stats", "First", "--period", "day", "--json").stdout)
        if stats["results"]["pageviews"]["value"] == 3:
            break
    assert stats["results"]["pageviews"]["value"] == 3
    out = tmp_path / "events.ndjson"
    exported = running.cli("export", "First", "--output", str(out))
    assert exported.returncode == 0, exported.stderr
    assert len(out.read_text().splitlines()) == 3 + 1  # a header line, then one line a hit


def test_keys_and_users_made_by_commands_work_over_http(running: Running) -> None:
    key = running.cli("keys", "create", "--app", "First").stdout.split()[0]
    resp = httpx.get(
        f"{running.url}/api/v1/stats/aggregate",
        params={"site_id": "First", "period": "day"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert resp.status_code == 200, resp.text
    made = footfall(
        "users",
        "create",
        "owner@example.com",
        "--db",
        str(running.db),
        input="a long password\n" * 2,
    )
    assert made.returncode == 0, made.stderr
    assert "owner@example.com" in running.cli("users", "list").stdout


def test_an_operator_resets_two_factor_login_and_invites_while_the_server_runs(
    running: Running,
) -> None:
    """The new account calls reach the server's store through its socket, like the rest."""
    email = "owner@example.com"
    made = footfall("users", "create", email, "--db", str(running.db), input="a long password\n")
    assert made.returncode == 0, made.stderr
    with httpx.Client(base_url=running.url, timeout=30) as http:
        assert log_in(http, email, "a long password").status_code == 303
        enrol(http, int(time.time() * 1000))
    assert "2fa" in running.cli("users", "list").stdout
    assert running.cli("users", "reset-2fa", email).returncode == 0
    with httpx.Client(base_url=running.url, timeout=30) as http:
        resp = log_in(http, email, "a long password")
        assert resp.status_code == 303 and resp.headers["location"] == "/apps"
    link = running.cli("users", "invite", "new@example.com", "--url", running.url).stdout.strip()
    assert httpx.get(link).status_code == 200
    assert httpx.get(link + "x").status_code == 404


def test_goals_and_funnels_made_by_commands_answer_over_http_at_once(running: Running) -> None:
    """The goal and funnel calls reach the server's store through its socket (the Store
    protocol's new calls), and the Stats API answers with them straight away."""
    added = running.cli("goals", "add", "First", "--page", "/p*")
    assert added.returncode == 0, added.stderr
    funnel = running.cli("funnels", "add", "First", "Deeper", "--step", "/p0", "--step", "/p1")
    assert funnel.returncode == 0, funnel.stderr
    assert "Visit /p*" in running.cli("goals", "list", "First").stdout
    key = running.cli("keys", "create", "--app", "First").stdout.split()[0]
    browser = {"user-agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 Safari/537.36"}
    for n in range(2):
        httpx.get(
            f"{running.url}/p.gif",
            params={"app": running.app_id, "path": f"/p{n}"},
            headers=browser,
        )
    params = {
        "site_id": "First",
        "period": "day",
        "property": "event:goal",
        "metrics": "visitors,events",
    }
    rows: list[object] = []
    for _ in range(100):  # hits reach the store within --flush-interval
        resp = httpx.get(
            f"{running.url}/api/v1/stats/breakdown",
            params=params,
            headers={"Authorization": f"Bearer {key}"},
        )
        assert resp.status_code == 200, resp.text
        rows = resp.json()["results"]
        if rows and rows[0]["events"] == 2:  # type: ignore[index]
            break
    assert rows == [{"goal": "Visit /p*", "visitors": 1, "events": 2}]
    shown = json.loads(
        running.cli("funnels", "show", "First", "Deeper", "--period", "day", "--json").stdout
    )
    assert [s["visitors"] for s in shown["steps"]] == [1, 1]
    assert running.cli("funnels", "delete", "First", "Deeper").returncode == 0
    assert running.cli("goals", "delete", "First", "Visit /p*").returncode == 0


def test_imports_are_stored_and_counted_while_the_server_runs(
    running: Running, tmp_path: Path
) -> None:
    log = tmp_path / "access.log"
    log.write_text("".join(LOG_LINE.format(n=n, m=n) for n in range(5)))
    imported = running.cli("import-log", str(log), "--app", "First")
    assert imported.returncode == 0, imported.stderr
    again = running.cli("import-log", str(log), "--app", "First")  # idempotent, as ever
    assert again.returncode == 0, again.stderr
    stats = json.loads(
        running.cli(
            "stats", "First", "--period", "custom", "--date", "2026-12-04,2026-12-04", "--json"
        ).stdout
    )
    assert stats["results"]["pageviews"]["value"] == 5


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to be another user")
def test_the_socket_answers_only_the_servers_own_user(tmp_path: Path) -> None:
    home = Path(tempfile.mkdtemp(prefix="footfall-sock-"))  # a directory every user may enter
    os.chmod(home, 0o755)
    db = home / "f.duckdb"
    footfall("apps", "create", "First", "--url", "first.example", "--db", str(db))
    proc = start_server(db, free_port())
    try:
        path = Path(str(db) + ".sock")
        assert oct(path.stat().st_mode & 0o777) == "0o600"
        os.chmod(path, 0o666)  # even when the file lets another user in, the server does not answer
        assert ask_as(NOBODY, path) == b""  # closed without an answer
        assert ask_as(0, path) != b""  # root is answered
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
        subprocess.run(["rm", "-rf", str(home)], check=True)


def ask_as(uid: int, path: Path) -> bytes:
    """What the server sends back to a ``list_apps`` request from a process of user ``uid``."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: become the user, ask, report what came back through the pipe
        try:
            os.close(read)
            if uid:
                os.setgroups([])
                os.setgid(uid)
                os.setuid(uid)
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.connect(str(path))
                request = pickle.dumps(("list_apps", (), {}))
                sock.sendall(struct.pack("<Q", len(request)) + request)
                os.write(write, sock.recv(1 << 16))
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as answer:
        got = answer.read()
    os.waitpid(pid, 0)
    return got


def test_a_process_holding_the_file_without_a_socket_is_named(tmp_path: Path) -> None:
    db = tmp_path / "f.duckdb"
    footfall("apps", "create", "First", "--db", str(db))
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(db)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        out = footfall("apps", "list", "--db", str(db))
        assert out.returncode != 0 and "Traceback" not in out.stderr
        assert "in use by another footfall process" in out.stderr
        assert "no footfall server answers commands" in out.stderr
    finally:
        holder.kill()
        holder.wait(30)


HOLD = """
import sys, time
from footfall.store.duckdb import DuckDBStore
store = DuckDBStore(sys.argv[1])
print("holding", flush=True)
time.sleep(60)
"""
