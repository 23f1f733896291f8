"""`footfall backup` and `footfall restore`, as real processes on real DuckDB files: a stopped
database and a running server's, the copy compared table by table with the source."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import duckdb
import httpx
import msgspec

from footfall.model import Hit
from footfall.spool import Spool
from footfall.store.duckdb import DuckDBStore
from footfall.store.remote import open_remote, socket_path
from tests.cli.test_while_serving import HOLD
from tests.live import free_port
from tests.query.dataset import APP_ID, load
from tests.test_durability import footfall, start_server

BROWSER = {"user-agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 Safari/537.36"}


def ran(*args: str, cwd: Path | None = None, fails: bool = False) -> str:
    """Run `footfall`; its output (stdout, then stderr), having checked that it failed (a
    non-zero exit) only if ``fails``, and printed no traceback."""
    out = footfall(*args, cwd=cwd)
    assert "Traceback" not in out.stderr, out.stderr
    assert (out.returncode != 0) == fails, out.stdout + out.stderr
    return out.stdout + out.stderr


def tables(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every table of the footfall database at ``db``, its rows in a stable order."""
    with duckdb.connect(str(db), read_only=True) as con:
        names = [
            name
            for (name,) in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' ORDER BY 1"
            ).fetchall()
        ]
        return {
            name: sorted(con.execute(f'SELECT * FROM "{name}"').fetchall(), key=repr)  # noqa: S608
            for name in names
        }


def stopped_database(tmp_path: Path) -> Path:
    """Two apps, their hits and rollups, a user and an API key, one recorded spool batch."""
    db = tmp_path / "f.duckdb"
    store, _, _ = load(db)
    store.append_hits(
        [msgspec.structs.astuple(Hit(hit_id="spooled", app_id=APP_ID, ts=1_768_000_000_000))],
        batch="server-00000000000000000001",
    )
    store.close()
    ran("rollups", "rebuild", "--db", str(db))
    ran("keys", "create", "--app", APP_ID, "--db", str(db))
    made = footfall(
        "users", "create", "o@example.com", "--db", str(db), input="a long password\n" * 2
    )
    assert made.returncode == 0, made.stderr
    return db


def test_a_stopped_database_is_backed_up_and_restored_to_the_same_tables(tmp_path: Path) -> None:
    db = stopped_database(tmp_path)
    source = tables(db)
    assert source["events"] and source["apps"] and source["users"] and source["api_keys"]
    assert any(name.startswith("rollup") and rows for name, rows in source.items())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    old = os.umask(0)  # the copy is 0600 whatever the umask
    try:  # and a relative DEST is the command's working directory's
        said = ran("backup", "copy.duckdb", "--db", str(db), cwd=elsewhere)
    finally:
        os.umask(old)
    copy = elsewhere / "copy.duckdb"
    assert f"to {copy}:" in said and "2 apps" in said
    assert f"{len(source['events']):,} events" in said
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    assert tables(copy) == source
    said = ran("restore", str(copy), "--db", str(tmp_path / "restored.duckdb"))
    assert "restored" in said and "warning" not in said
    assert tables(tmp_path / "restored.duckdb") == source
    assert stat.S_IMODE((tmp_path / "restored.duckdb").stat().st_mode) == 0o600
    leftovers = [p.name for p in [*tmp_path.iterdir(), *elsewhere.iterdir()] if p.name[0] == "."]
    assert leftovers == []  # no temporary copy is left behind


def test_refusals_are_messages_and_a_non_zero_exit(tmp_path: Path) -> None:
    db = stopped_database(tmp_path)
    before = tables(db)
    taken = tmp_path / "taken.duckdb"
    taken.write_text("mine")
    assert "exists already" in ran("backup", str(taken), "--db", str(db), fails=True)
    assert taken.read_text() == "mine"
    assert "no database" in ran(
        "backup", "b.duckdb", "--db", str(tmp_path / "none.duckdb"), fails=True
    )
    assert "no directory" in ran(
        "backup", str(tmp_path / "no" / "b.duckdb"), "--db", str(db), fails=True
    )
    assert not (tmp_path / "none.duckdb").exists()
    # restore: of something that is not a footfall database, onto a database without --force
    text = tmp_path / "notes.txt"
    text.write_text("not a database")
    assert "not a DuckDB database" in ran(
        "restore", str(text), "--db", str(db), "--force", fails=True
    )
    other = tmp_path / "other.duckdb"
    with duckdb.connect(str(other)) as con:
        con.execute("CREATE TABLE events (n INTEGER)")
    said = ran("restore", str(other), "--db", str(db), "--force", fails=True)
    assert "not a footfall database" in said
    ran("backup", str(tmp_path / "b.duckdb"), "--db", str(db))
    assert "--force replaces it" in ran(
        "restore", str(tmp_path / "b.duckdb"), "--db", str(db), fails=True
    )
    (tmp_path / "b.duckdb.wal").write_bytes(b"transactions")  # a copy taken mid-write
    said = ran("restore", str(tmp_path / "b.duckdb"), "--db", str(db), "--force", fails=True)
    assert "b.duckdb.wal holds transactions" in said
    assert tables(db) == before


def test_restore_replaces_the_database_and_its_stale_log_and_warns_of_the_spool(
    tmp_path: Path,
) -> None:
    target = tmp_path / "target.duckdb"
    spool = Path(f"{target}.spool")
    spool.mkdir()
    for owner in ("server", "other"):  # two segments the target's server had not loaded
        segments = Spool(spool, owner=owner, fsync="none")
        segments.append(b"a hit")
        segments.close()
    [first] = [p.stem for p in spool.glob("server-*.seg")]
    db = stopped_database(tmp_path)
    store = DuckDBStore(str(db))  # the backup has the first segment's hits
    store.append_hits([msgspec.structs.astuple(Hit(hit_id="h", app_id=APP_ID, ts=1))], batch=first)
    store.close()
    backup = tmp_path / "b.duckdb"
    ran("backup", str(backup), "--db", str(db))
    DuckDBStore(str(target)).close()
    Path(f"{target}.wal").write_bytes(b"the log of the file being replaced")
    said = ran("restore", str(backup), "--db", str(target), "--force")
    assert not Path(f"{target}.wal").exists()
    assert tables(target) == tables(backup)
    assert f"the spool {spool} holds 1 segment " in said  # the other one
    assert len(list(spool.glob("*.seg"))) == 2  # kept: acknowledged hits are not thrown away


def test_restore_refuses_while_another_process_has_the_database(tmp_path: Path) -> None:
    db = stopped_database(tmp_path)
    ran("backup", str(tmp_path / "b.duckdb"), "--db", str(db))
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(db)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        said = ran("restore", str(tmp_path / "b.duckdb"), "--db", str(db), "--force", fails=True)
        assert "in use by another process" in said and "stop it first" in said
    finally:
        holder.kill()
        holder.wait(30)


def test_a_running_servers_database_is_backed_up_while_hits_arrive(tmp_path: Path) -> None:
    db = tmp_path / "f.duckdb"
    app_id = ran("apps", "create", "Live", "--url", "live.example", "--db", str(db)).split()[0]
    port = free_port()
    proc = start_server(
        db, port, "--flush-interval", "0.1", "--rollup-wait", "0.2", "--upkeep-interval", "0"
    )
    acknowledged = 0
    sending = threading.Event()
    sending.set()

    def send() -> None:
        nonlocal acknowledged
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=BROWSER) as http:
            n = 0
            while sending.is_set():
                n += 1
                resp = http.get("/p.gif", params={"app": app_id, "path": f"/p/{n}"})
                if resp.status_code == 200 and "x-footfall-ignored" not in resp.headers:
                    acknowledged += 1

    sender = threading.Thread(target=send)
    sender.start()
    path = socket_path(str(db))
    assert path is not None
    live = open_remote(path)
    try:
        wait_for(lambda: live.count_events() >= 200, "hits stored")
        # while hits arrive: a backup, and a restore onto the running server refused
        said = ran("backup", "during.duckdb", "--db", str(db), cwd=tmp_path)
        assert "by the running server" in said
        said = ran(
            "restore", str(tmp_path / "during.duckdb"), "--db", str(db), "--force", fails=True
        )
        assert "a footfall server is running" in said
        assert "exists already" in ran(
            "backup", "during.duckdb", "--db", str(db), cwd=tmp_path, fails=True
        )
        sending.clear()
        sender.join(30)
        # then, once every acknowledged hit is stored and folded in: nothing changes any more
        wait_for(lambda: live.count_events() == acknowledged, "every hit stored")
        wait_for(lambda: folded_all(live), "every hit folded in")
        said = ran("backup", str(tmp_path / "after.duckdb"), "--db", str(db))
        assert f"{acknowledged:,} events" in said
    finally:
        sending.clear()
        live.close()
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    final = tables(db)
    ran("restore", str(tmp_path / "after.duckdb"), "--db", str(tmp_path / "restored.duckdb"))
    assert tables(tmp_path / "restored.duckdb") == final
    # the one taken in the middle: some of the hits, every one of them stored as in the end
    during = tables(tmp_path / "during.duckdb")
    assert 200 <= len(during["events"]) < len(final["events"])
    assert set(during["events"]) <= set(final["events"])
    assert set(during["loaded_batches"]) <= set(final["loaded_batches"])
    # consistent: each batch's hits are in it with the batch's record (the same transaction)
    assert sum(hits for _, hits, _ in during["loaded_batches"]) == len(during["events"])
    assert during["apps"] == final["apps"]


def folded_all(store: Any) -> bool:
    rows = store.fetch(
        "SELECT (SELECT max(fold_seq) FROM events),"
        " (SELECT folded FROM rollup_feed WHERE app_id = '')"
    )
    return bool(rows[0][0] is not None and rows[0][0] == rows[0][1])


def wait_for(condition: Any, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
