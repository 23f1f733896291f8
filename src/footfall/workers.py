"""More than one HTTP process: ``--workers N``.

The process started (the *writer's*) owns the store. It runs the spool's writer, the rollup feed,
upkeep and the CLI's socket (``<db>.sock``), and serves HTTP as collector 0. It starts ``N - 1``
collector processes (:func:`collector_main`, started with ``spawn``: a fresh interpreter, no
inherited threads or database handles). Every process binds the same address with
``SO_REUSEPORT``, so the kernel spreads connections over all of them. A collector appends the
hits it takes to the shared spool directory under its own owner (``collector-K``) and asks
everything else of the writer's process over the socket (footfall.store.remote): apps, daily
salts, accounts, the dashboard's and Stats API's reads. Collectors hold no session state: the
writer gives loaded hits their sessions (footfall.identify.sessions), so a visitor's hits make one
visit whichever process took them.

A collector re-reads the apps every ``APPS_REFRESH_S`` seconds and reports its hit counters
with it, so ``/-/metrics`` answers the same totals in every process. A collector that dies is
started again (its open spool segment is loaded like a sealed one: its lock went with it). On
SIGTERM or SIGINT every process stops taking connections and seals its spool; the writer's
process waits for the collectors, then loads what they left and closes the store.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from collections import Counter
from typing import Any

from footfall.settings import Config, SettingError

log = logging.getLogger("footfall.workers")

APPS_REFRESH_S = 2.0  # how stale a collector's apps and the writer's view of its counters may be
RESTART_PAUSE_S = 1.0  # before a dead collector is started again (doubling while it keeps dying)
PR_SET_PDEATHSIG = 1  # prctl(2)
STOP_WAIT_S = 30.0  # a collector's own graceful shutdown; then it is killed


def listen_socket(host: str, port: int, backlog: int = 2048) -> socket.socket:
    """A listening TCP socket that other processes of this user may bind too (SO_REUSEPORT)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        raise SettingError(
            f"--host/--port: cannot listen on {host}:{port}: {exc.strerror}"
        ) from None
    sock.setblocking(False)
    return sock


class CollectorReports:
    """The hit counters collectors report to the writer's process, summed with its own."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reports: dict[int, tuple[int, dict[str, int], int]] = {}
        self._seen: dict[int, float] = {}  # monotonic time of each collector's last report

    def take(self, index: int, accepted: int, ignored: dict[str, int], appended: int) -> None:
        with self._lock:
            self._reports[int(index)] = (int(accepted), dict(ignored), int(appended))
            self._seen[int(index)] = time.monotonic()

    def live(self) -> int:
        """Collectors that reported lately (each reports every ``APPS_REFRESH_S``)."""
        recent = time.monotonic() - 2.5 * APPS_REFRESH_S
        with self._lock:
            return sum(seen >= recent for seen in self._seen.values())

    def totals(self) -> tuple[int, Counter[str], int]:
        """Accepted, ignored by reason and appended, over every collector that reported."""
        accepted, ignored, appended = 0, Counter[str](), 0
        with self._lock:
            for a, i, n in self._reports.values():
                accepted += a
                ignored.update(i)
                appended += n
        return accepted, ignored, appended


def collector_main(config: Config, index: int, port: int) -> None:
    """A collector process: HTTP on the shared port, hits to its own spool owner, the rest of the
    store through the writer's socket."""
    logging.basicConfig(
        level=config.log_level.upper(),
        format=f"%(asctime)s %(levelname)s %(name)s[{index}]: %(message)s",
    )
    import uvicorn

    from footfall.runtime import Runtime
    from footfall.server import raise_open_file_limit, uvicorn_config
    from footfall.store.base import StoreError
    from footfall.store.remote import open_remote, socket_path
    from footfall.web import create_app

    _stop_with_parent()
    path = socket_path(config.db)
    assert path is not None  # --workers needs a database file (checked before spawning)
    raise_open_file_limit(config.max_connections + 256)
    try:
        runtime = Runtime.build(config, store=open_remote(path), collector=index)
    except StoreError as exc:  # the writer's process is gone or not up: it starts us again
        log.error("collector %d cannot reach the writer's process: %s", index, exc)
        raise SystemExit(1) from None
    sock = listen_socket(config.host, port)
    uvicorn.Server(uvicorn_config(create_app(runtime), config)).run(sockets=[sock])


def _stop_with_parent() -> None:
    """Have the kernel send SIGTERM to this collector when the writer's process dies (even by
    SIGKILL), so no collector goes on taking hits that nobody writes (Linux; else nothing)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent died before the call
        os.kill(os.getpid(), signal.SIGTERM)


class CollectorPool:
    """Starts collectors 1..N-1, starts again one that dies, and stops them all."""

    def __init__(self, config: Config, count: int, port: int) -> None:
        self.config = config
        self.count = count
        self.port = port
        self._context = multiprocessing.get_context("spawn")
        self._processes: dict[int, Any] = {}
        self._pauses: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.restarts = 0

    def _spawn(self, index: int) -> None:
        process = self._context.Process(
            target=collector_main,
            args=(self.config, index, self.port),
            name=f"footfall-collector-{index}",
            daemon=False,
        )
        process.start()
        self._processes[index] = process

    def start(self) -> None:
        for index in range(1, self.count):
            self._spawn(index)
        self._thread = threading.Thread(target=self._watch, name="footfall-collectors", daemon=True)
        self._thread.start()
        log.info("footfall: %d collector processes beside this one", self.count - 1)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self._processes.values() if p.pid is not None]

    def _watch(self) -> None:
        while not self._stop.wait(0.5):
            for index, process in list(self._processes.items()):
                if process.is_alive() or self._stop.is_set():
                    continue
                pause = self._pauses.get(index, RESTART_PAUSE_S)
                log.error(
                    "collector %d exited (code %s); starting it again in %.0f s",
                    index,
                    process.exitcode,
                    pause,
                )
                if self._stop.wait(pause):
                    return
                self._pauses[index] = min(pause * 2, 60.0)
                self.restarts += 1
                self._spawn(index)

    def stop(self) -> None:
        """Ask every collector to stop (SIGTERM: it seals its spool), wait, then kill stragglers."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        for process in self._processes.values():
            if process.is_alive():
                process.terminate()
        deadline = time.monotonic() + STOP_WAIT_S
        for index, process in self._processes.items():
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                log.error("collector %d did not stop in %.0f s; killing it", index, STOP_WAIT_S)
                process.kill()
                process.join()
