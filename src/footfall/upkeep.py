"""Background upkeep in the server: rollup compaction and per-app retention of raw events.

One daemon thread wakes every ``interval`` seconds. Retention deletes an app's raw events older than
its ``retention_days``; rollups (sessions aside, which are derived per session) are kept forever, so
dashboards still show old periods — their counts come from the rollups, which never expire.
"""

from __future__ import annotations

import logging
import threading

from footfall.apps import AppRegistry
from footfall.clock import Clock
from footfall.store.base import Store
from footfall.store.rollups import Rollups

LOADED_BATCHES_KEPT_MS = 86_400_000
log = logging.getLogger("footfall.upkeep")
DAY_MS = 86_400_000


def enforce_retention(
    store: Store, apps: AppRegistry, clock: Clock, rollups: Rollups | None = None
) -> dict[str, int]:
    """Delete raw events (and finished session rows) older than each app's retention; returns
    rows deleted per app id. Rollup counts and sketches stay."""
    deleted: dict[str, int] = {}
    now = clock.now_ms()
    for app in apps.all():
        if app.retention_days and app.retention_days > 0:
            cutoff = now - app.retention_days * DAY_MS
            n = store.delete_events(app.id, before_ms=cutoff)
            if rollups is not None:
                rollups.forget_sessions_before(app.id, cutoff)
            if n:
                deleted[app.id] = n
    return deleted


class Upkeep:
    def __init__(
        self, store: Store, apps: AppRegistry, rollups: Rollups, clock: Clock, interval: float
    ) -> None:
        self.store = store
        self.apps = apps
        self.rollups = rollups
        self.clock = clock
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.runs = 0

    def run_once(self) -> None:
        try:
            self.rollups.compact()
        except Exception:
            log.exception("rollup compaction failed")
        try:
            for app_id, n in enforce_retention(
                self.store, self.apps, self.clock, self.rollups
            ).items():
                log.info("retention: deleted %d raw events of app %s", n, app_id)
        except Exception:
            log.exception("retention failed")
        try:  # a segment is deleted within seconds of its commit: a day is plenty
            self.store.forget_loaded_batches(LOADED_BATCHES_KEPT_MS)
        except Exception:
            log.exception("forgetting loaded spool segments failed")
        self.store.settle()  # a checkpoint, and DuckDB's memory limit back at rest
        self.runs += 1

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.run_once()

    def start(self) -> None:
        if self._thread is None and self.interval > 0:
            self._thread = threading.Thread(target=self._loop, name="footfall-upkeep", daemon=True)
            self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
            self._thread = None
