"""footfall.client.Tracker: returns at once, sends in batches, survives a server that is down."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import msgspec

from footfall.apps import AppRegistry
from footfall.client import Tracker
from footfall.clock import FrozenClock
from footfall.model import App
from footfall.store.duckdb import DuckDBStore
from tests.live import LiveServer, free_port, live_server

UA = "Wget/1.21.4"


def test_pageviews_and_events_arrive_with_their_request_facts(server: LiveServer, app: App) -> None:
    with Tracker(server.url, app.id) as tracker:
        assert tracker.track_pageview(
            "https://site.example/img/cat.png",
            ip="198.51.100.4",
            user_agent=UA,
            referrer="https://elsewhere.example/",
            status=200,
        )
        assert tracker.track_event(
            "download", {"file": "report.pdf", "size": 1234}, path="/files/report.pdf", ip="::1"
        )
        assert tracker.flush(timeout=10)
        assert (tracker.sent, tracker.dropped) == (2, 0)
    rows = server.rows(
        "SELECT event, channel, path, referrer, user_agent, ip, status, props, identity"
        " FROM events ORDER BY event"
    )
    assert rows == [
        ("download", "server", "/files/report.pdf", None, "footfall-python-tracker/1", "::",
         None, {"file": "report.pdf", "size": "1234"}, "client-id"),
        ("pageview", "server", "/img/cat.png", "https://elsewhere.example/", UA, "198.51.100.0",
         200, None, "client-id"),
    ]  # fmt: skip


def test_many_hits_go_out_in_few_requests(server: LiveServer, app: App) -> None:
    tracker = Tracker(server.url, app.id, flush_interval=5.0)
    for i in range(100):
        tracker.track_pageview(path=f"/p/{i}", ip="10.0.0.1", user_agent=UA)
    assert tracker.close(timeout=10)
    assert tracker.sent == 100
    assert server.rows("SELECT count(*), count(DISTINCT path) FROM events") == [(100, 100)]
    # 100 hits at ≤ 20 per POST /batch: the server counted them, nothing was refused
    assert server.runtime.counters.accepted == 100


def test_queue_is_bounded_and_drops_are_counted(tmp_path: Path) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    tracker = Tracker(nobody, "UA-1-1", max_queue=5, backoff=0.05, max_backoff=0.1)
    accepted = [tracker.track_pageview(path=f"/{i}") for i in range(8)]
    assert accepted == [True] * 5 + [False] * 3
    assert (tracker.pending, tracker.dropped) == (5, 3)
    assert not tracker.close(timeout=0.3)  # cannot deliver; gives up after the timeout
    assert tracker.failures >= 1 and tracker.sent == 0


def test_retries_with_backoff_until_the_server_comes_up(tmp_path: Path) -> None:
    port = free_port()
    tracker = Tracker(f"http://127.0.0.1:{port}", "UA-7-7", backoff=0.05, max_backoff=0.2)
    for i in range(3):
        tracker.track_pageview(path=f"/early/{i}", ip="192.0.2.1", user_agent=UA)
    deadline = time.monotonic() + 5
    while tracker.failures < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert tracker.failures >= 2 and tracker.pending == 3
    db = tmp_path / "late.duckdb"
    store = DuckDBStore(str(db))  # the app exists before the server listens: a retry may come
    apps = AppRegistry(store, FrozenClock())  # at once, and an unknown alias is ignored
    app = apps.create("Late", "https://late.example")
    apps.save(msgspec.structs.replace(app, aliases=["UA-7-7"]))
    store.close()
    with live_server(db, port=port) as srv:
        assert tracker.close(timeout=10)
        assert tracker.sent == 3
        assert srv.rows("SELECT path FROM events ORDER BY path") == [
            ("/early/0",),
            ("/early/1",),
            ("/early/2",),
        ]


def test_api_secret_is_sent_as_a_bearer_token(server: LiveServer, app: App) -> None:
    server.runtime.apps.save(msgspec.structs.replace(app, require_api_key=True))
    with Tracker(server.url, app.id) as anonymous:
        anonymous.track_pageview(path="/no-key")
    with Tracker(server.url, app.id, api_secret=app.api_secret) as keyed:
        keyed.track_pageview(path="/with-key")
    assert server.rows("SELECT path FROM events") == [("/with-key",)]
    assert server.runtime.counters.ignored["invalid-api-secret"] == 1


def test_tracking_calls_never_wait_on_the_network() -> None:
    # a "server" that accepts connections and never answers: any call that sent inline would
    # block for the whole read timeout
    with socket.socket() as black_hole:
        black_hole.bind(("127.0.0.1", 0))
        black_hole.listen(16)
        port = black_hole.getsockname()[1]
        tracker = Tracker(f"http://127.0.0.1:{port}", "UA-1-1", timeout=1.5, flush_interval=0)
        start = time.monotonic()
        for i in range(50):
            tracker.track_pageview(path=f"/{i}", ip="192.0.2.1", user_agent=UA)
            time.sleep(0.001)  # let the sender thread start its (hanging) request
        elapsed = time.monotonic() - start
        assert elapsed < 1.5 and tracker.sent == 0
        tracker.close(timeout=0)


def test_a_connection_closed_by_the_server_is_reopened_without_a_failure(tmp_path: Path) -> None:
    port = free_port()
    tracker = Tracker(f"http://127.0.0.1:{port}", "UA-3-3", backoff=5.0)
    for name in ("first", "second"):  # a restarted server: the kept-alive connection is dead
        with live_server(tmp_path / f"{name}.duckdb", port=port) as srv:
            app = srv.create_app(name, "https://site.example")
            srv.runtime.apps.save(msgspec.structs.replace(app, aliases=["UA-3-3"]))
            tracker.track_pageview(path=f"/{name}")
            assert tracker.flush(timeout=4)  # well before the 5 s backoff a failure would cost
            assert srv.rows("SELECT path FROM events") == [(f"/{name}",)]
    assert (tracker.sent, tracker.failures) == (2, 0)
    tracker.close(timeout=0)


EXIT_SCRIPT = """
import sys
from footfall.client import Tracker

tracker = Tracker(sys.argv[1], sys.argv[2], flush_interval=60)
for i in range(5):
    tracker.track_pageview(path=f"/exit/{i}")
# no flush, no close: the interpreter's exit sends what is queued
"""


def test_queued_hits_are_sent_when_the_interpreter_exits(server: LiveServer, app: App) -> None:
    done = subprocess.run(
        [sys.executable, "-c", EXIT_SCRIPT, server.url, app.id], timeout=60, capture_output=True
    )
    assert done.returncode == 0, done.stderr
    assert server.count() == 5


def test_the_forwarded_user_agent_decides_and_the_trackers_own_is_no_bot(
    server: LiveServer, app: App
) -> None:
    chrome = (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
        " Chrome/131.0.0.0 Safari/537.36"
    )
    with Tracker(server.url, app.id) as tracker:
        tracker.track_pageview(path="/a", ip="198.51.100.4", user_agent=chrome)
        tracker.track_pageview(path="/b", ip="198.51.100.4")  # footfall-python-tracker/1
        tracker.track_pageview(path="/c", ip="198.51.100.4", user_agent=UA)  # Wget
        assert tracker.flush(timeout=10)
    assert server.rows("SELECT path, browser, os, device, bot FROM events ORDER BY path") == [
        ("/a", "Chrome", "Windows", "desktop", None),
        ("/b", None, None, "other", None),
        ("/c", "Wget", None, "bot", "Wget"),
    ]
