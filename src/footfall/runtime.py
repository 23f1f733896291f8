"""Everything one footfall server process owns, built from a Config with its dependencies passed in
(clock and store), so tests can freeze time, share a store and flush explicitly."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, cast

from footfall import allocators
from footfall.apps import AppRegistry
from footfall.buffer import HitBuffer
from footfall.clock import Clock, SystemClock
from footfall.collect.endpoints import compiled_parsers
from footfall.collect.request import ClientResolver
from footfall.enrich.pipeline import Enricher, default_steps
from footfall.enrich.useragent import is_accelerated, parser_implementation
from footfall.identify.cookieless import CookielessIdentifier, DailySalts
from footfall.identify.cookies import CookieIdentifier, CookieSpec
from footfall.identify.identifier import Identifier
from footfall.identify.sessions import SessionTracker
from footfall.ingest import Counters, Ingest
from footfall.query.engine import QueryEngine
from footfall.query.live_sessions import live_sessions
from footfall.settings import Config, SettingError, parse_size
from footfall.spool import OwnerTaken, Spool, SpoolReader
from footfall.store.base import Store, StoreError, open_store
from footfall.store.remote import MAX_COMMANDS, RemoteStore, StoreServer, socket_path
from footfall.store.rollups import RollupFeed, Rollups
from footfall.upkeep import Upkeep
from footfall.workers import APPS_REFRESH_S, CollectorReports

log = logging.getLogger("footfall")


def _after_fold(store: Store) -> None:
    """After a rollup fold: the hits appended meanwhile go to the file, freed memory to the system."""
    store.settle()
    allocators.release_free_memory()


# A segment is sealed at this size (or --flush-interval): ~4,000 pixel hits. The writer reads and
# checks a whole segment at once, holding the interpreter lock while it parses: bigger segments
# of a busy second showed in the endpoints' p99 latency (docs/benchmarks.md).
SEGMENT_BYTES = 2 << 20


def spool_directory(config: Config) -> Path:
    """``--spool-dir``, else the database file's path plus ``.spool`` (never the working
    directory)."""
    if config.spool_dir:
        return Path(config.spool_dir).absolute()
    if "://" in config.db or config.db in ("", ":memory:"):
        raise SettingError("--spool-dir: a store that is not a file needs a spool directory")
    return Path(os.path.abspath(config.db) + ".spool")


def open_spool(config: Config, store: Store, owner: str = "server") -> tuple[Spool, SpoolReader]:
    """The spool hits are appended to before they are acknowledged, and its reader."""
    if config.spool_fsync not in ("none", "interval", "always"):
        raise SettingError("--spool-fsync: one of none, interval, always")
    directory = spool_directory(config)
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        spool = Spool(
            directory,
            owner=owner,
            fsync=config.spool_fsync,  # type: ignore[arg-type]
            segment_age=config.flush_interval,
            segment_bytes=SEGMENT_BYTES,
            max_bytes=parse_size(config.spool_max, "--spool-max"),
        )
    except OwnerTaken:
        store.close()
        raise SettingError(f"--spool-dir: {directory} is used by another footfall server") from None
    except OSError as exc:
        store.close()
        raise SettingError(
            f"--spool-dir: cannot use {directory}: {exc.strerror}; make it writable for this"
            " user or choose another"
        ) from None
    return spool, SpoolReader(directory)


@dataclass
class Runtime:
    config: Config
    clock: Clock
    store: Store
    apps: AppRegistry
    buffer: HitBuffer
    ingest: Ingest
    resolver: ClientResolver
    sessions: SessionTracker
    counters: Counters
    rollups: Rollups
    feed: RollupFeed
    upkeep: Upkeep
    engine: QueryEngine
    collector: int = 0  # 0: the process that owns the store and writes; K: collector process K
    closed: bool = False
    started: bool = False
    commands: StoreServer | None = None  # the CLI's (and collectors') way to the store
    reports: CollectorReports = field(default_factory=CollectorReports)
    before_close: Callable[[], None] | None = None  # the writer's: stop the collectors first
    _refresher: threading.Thread | None = None
    _stopping: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def build(
        cls,
        config: Config,
        *,
        clock: Clock | None = None,
        store: Store | None = None,
        collector: int = 0,
    ) -> Runtime:
        """The writer's process (``collector=0``), or collector process K, whose ``store`` is
        the writer's, through its socket (footfall.workers)."""
        clock = clock or SystemClock()
        enricher = Enricher(
            default_steps(config)
        )  # first: a bad --geoip-db fails before the store opens
        options = {
            name: value
            for name, value in {
                "memory_limit": config.db_memory,
                "resting_memory": config.db_memory_resting,
                "temp_directory": config.db_temp,
            }.items()
            if value
        }
        store = store or open_store(config.db, config.store or None, **options)
        apps = AppRegistry(store, clock)

        def timezone_of(app_id: str) -> str | None:
            app = apps.get(app_id)
            return app.timezone if app else None

        writer = collector == 0
        rollups = Rollups(store, timezone_of, clock=clock, create=writer)
        feed = RollupFeed(
            rollups,
            clock,
            max_rows=config.rollup_batch,
            max_wait_ms=int(config.rollup_wait * 1000),
            after_fold=partial(_after_fold, store),
        )
        timeout_ms = config.session_minutes * 60_000
        sessions = SessionTracker(clock, timeout_ms=timeout_ms)
        if writer:
            feed.recover()
            sessions.seed(live_sessions(store, timeout_ms, sessions.max_entries))
        buffer = HitBuffer(
            *open_spool(config, store, "server" if writer else f"collector-{collector}"),
            feed.write,
            store,
            interval=config.flush_interval,
            on_tick=feed.tick,
            assign=sessions.assign,
            writer=writer,
        )
        identifier = Identifier(
            CookieIdentifier(
                CookieSpec(
                    visitor_name=config.visitor_cookie,
                    session_name=config.session_cookie,
                    visitor_max_age=config.visitor_days * 86_400,
                    session_max_age=config.session_minutes * 60,
                )
            ),
            CookielessIdentifier(DailySalts(store, clock), timeout_ms),
        )
        counters = Counters()
        ingest = Ingest(
            clock=clock,
            apps=apps,
            identifier=identifier,
            enricher=enricher,
            buffer=buffer,
            counters=counters,
        )
        return cls(
            config=config,
            clock=clock,
            store=store,
            apps=apps,
            buffer=buffer,
            ingest=ingest,
            resolver=ClientResolver(config.trusted_proxies),
            sessions=sessions,
            counters=counters,
            rollups=rollups,
            feed=feed,
            upkeep=Upkeep(store, apps, rollups, clock, config.upkeep_interval),
            # answers count every hit: the writer folds what waits first; a collector's reads
            # see the rollups' bookmarks and read raw hits where a fold is still due
            engine=QueryEngine(store, clock, catch_up=feed.fold if writer else None),
            collector=collector,
        )

    def start(self) -> None:
        """Start the threads (the writer's, or a collector's apps refresh). Idempotent: the
        server starts the runtime before uvicorn, whose lifespan starts it again."""
        if self.started:
            return
        self.started = True
        if self.collector:
            self._refresher = threading.Thread(
                target=self._refresh, name="footfall-apps", daemon=True
            )
            self._refresher.start()
            return
        log.info(
            "footfall: store %s (%s); enrichment steps: %s",
            self.config.db,
            self.store.backend,
            ", ".join(self.ingest.enricher.names),
        )
        for step in self.ingest.enricher.steps:
            describe = getattr(step.run, "describe", None)
            if describe is not None:
                log.info("footfall: %s: %s", step.name, describe())
        if is_accelerated():
            log.info("footfall: user agents parsed by %s", parser_implementation())
        else:
            log.warning("footfall: user agents parsed by %s", parser_implementation())
        log.info("footfall: memory: %s", allocators.describe(os.environ))
        if compiled_parsers():
            log.info("footfall: pixel requests parsed in C (footfall._speedups)")
        else:
            log.warning(
                "footfall: pixel requests parsed in Python: footfall._speedups was not built "
                "(install with a C compiler present for ~25%% more hits/s)"
            )
        self.feed.start()
        self.buffer.start()
        self.upkeep.start()
        path = socket_path(self.config.db)
        if path is not None:
            self.commands = StoreServer(
                self.store,
                path,
                on_change=lambda _: self.apps.reload(),
                extras={"writer_status": self.writer_status, "collector_report": self.reports.take},
                slots=MAX_COMMANDS + self.config.workers - 1,  # each collector keeps one
            )
            if not self.commands.start():
                self.commands = None

    def _refresh(self) -> None:
        """A collector's thread: report to the writer at once (it counts this collector as up),
        then re-read the apps and report the hit counters every ``APPS_REFRESH_S``."""
        while True:
            try:
                self.report()
            except StoreError as exc:
                log.warning("the writer's process does not answer: %s", exc)
            if self._stopping.wait(APPS_REFRESH_S):
                return
            try:
                self.apps.reload()
            except StoreError as exc:
                log.warning("the writer's process does not answer: %s", exc)

    def report(self) -> None:
        """Send this collector's counters to the writer's process (footfall.workers)."""
        counters = self.counters
        remote = cast(RemoteStore, self.store)
        remote.call(
            "collector_report",
            self.collector,
            counters.accepted,
            dict(counters.ignored),
            self.buffer.appended,
        )

    def writer_status(self) -> dict[str, Any]:
        """The writer's state for /-/health and /-/metrics: this process's, or, in a collector,
        asked of the writer's process. Hit counters are summed over every process."""
        if self.collector:
            return cast(dict[str, Any], cast(RemoteStore, self.store).call("writer_status"))
        accepted, ignored, appended = self.reports.totals()
        ignored.update(self.counters.ignored)
        buffer = self.buffer
        return {
            "write_error": buffer.write_error,
            "written": buffer.flushed,
            "failures": buffer.failures,
            "pending": max(buffer.appended + appended - buffer.flushed, 0),
            "lag_s": buffer.lag_s,
            "load_s": buffer.load_s,
            "segments": len(buffer.reader.ready()),
            "folds": self.feed.folds,
            "fold_waiting": self.feed.waiting,
            "accepted": self.counters.accepted + accepted,
            "ignored": dict(ignored),
            "processes": 1 + self.reports.live(),
        }

    def flush(self) -> int:
        """Write buffered hits and fold waiting batches into the rollups now (tests, imports);
        in a collector, seal its spool segment for the writer."""
        if self.collector:
            self.buffer.spool.seal()
            return 0
        written = self.buffer.flush()
        self.feed.fold()
        return written

    def close(self) -> None:
        """Write every buffered hit, then close the store. Safe to call more than once."""
        if self.closed:
            return
        self.closed = True
        self._stopping.set()
        if self.collector:
            self.buffer.close()  # seals the spool: the writer loads it
            try:
                self.report()
            except StoreError:
                pass
            self.store.close()
            return
        if self.before_close is not None:
            self.before_close()
        if self.commands is not None:
            self.commands.close()
        self.upkeep.close()
        written = self.buffer.close()
        self.feed.close()
        self.feed.fold()
        log.info("footfall: shut down after writing %d hits", written)
        self.store.close()
