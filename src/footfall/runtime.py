"""Everything one footfall server process owns, built from a Config with its dependencies passed in
(clock and store), so tests can freeze time, share a store and flush explicitly."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from functools import partial
from pathlib import Path

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
from footfall.settings import Config, SettingError, parse_size
from footfall.spool import OwnerTaken, Spool, SpoolReader
from footfall.store.base import Store, open_store
from footfall.store.remote import StoreServer, socket_path
from footfall.store.rollups import RollupFeed, Rollups
from footfall.upkeep import Upkeep

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


def open_spool(config: Config, store: Store) -> tuple[Spool, SpoolReader]:
    """The spool hits are appended to before they are acknowledged, and its reader."""
    if config.spool_fsync not in ("none", "interval", "always"):
        raise SettingError("--spool-fsync: one of none, interval, always")
    directory = spool_directory(config)
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        spool = Spool(
            directory,
            owner="server",
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
    closed: bool = False
    commands: StoreServer | None = None  # the CLI's way to the store while the server runs

    @classmethod
    def build(
        cls, config: Config, *, clock: Clock | None = None, store: Store | None = None
    ) -> Runtime:
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

        rollups = Rollups(store, timezone_of, clock=clock)
        feed = RollupFeed(
            rollups,
            clock,
            max_rows=config.rollup_batch,
            max_wait_ms=int(config.rollup_wait * 1000),
            after_fold=partial(_after_fold, store),
        )
        feed.recover()
        buffer = HitBuffer(
            *open_spool(config, store),
            feed.write,
            store,
            interval=config.flush_interval,
            on_tick=feed.tick,
        )
        sessions = SessionTracker(clock, timeout_ms=config.session_minutes * 60_000)
        identifier = Identifier(
            CookieIdentifier(
                CookieSpec(
                    visitor_name=config.visitor_cookie,
                    session_name=config.session_cookie,
                    visitor_max_age=config.visitor_days * 86_400,
                    session_max_age=config.session_minutes * 60,
                ),
                sessions,
            ),
            CookielessIdentifier(DailySalts(store, clock), sessions),
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
            engine=QueryEngine(store, clock, catch_up=feed.fold),  # answers count every hit
        )

    def start(self) -> None:
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
            self.commands = StoreServer(self.store, path, on_change=lambda _: self.apps.reload())
            if not self.commands.start():
                self.commands = None

    def flush(self) -> int:
        """Write buffered hits and fold waiting batches into the rollups now (tests, imports)."""
        written = self.buffer.flush()
        self.feed.fold()
        return written

    def close(self) -> None:
        """Write every buffered hit, then close the store. Safe to call more than once."""
        if self.closed:
            return
        self.closed = True
        if self.commands is not None:
            self.commands.close()
        self.upkeep.close()
        written = self.buffer.close()
        self.feed.close()
        self.feed.fold()
        log.info("footfall: shut down after writing %d hits", written)
        self.store.close()
