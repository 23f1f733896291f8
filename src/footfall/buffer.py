"""The buffer between the endpoints and the store: every hit on local disk before it is acknowledged.

:meth:`HitBuffer.add` appends a hit to the spool (footfall.spool) and says whether it was taken;
an endpoint acknowledges a hit only then. So a hit a client was told is kept survives a crash of
the process (kill -9) and, as ``--spool-fsync`` says, of the machine. Endpoints never wait on
storage: an append is one write to the page cache (the fsyncs happen on the spool's thread).

The writer (a thread once :meth:`HitBuffer.start` ran; :meth:`HitBuffer.flush` in the caller's)
loads sealed segments into the store through the function it was given (the rollup feed's
``write``), at most ``WRITE_ROWS`` hits a transaction, each recording its name (the segment's and
its first record's) with its hits. A segment is removed only after its last commit; a part whose
name is recorded already is skipped (a crash between commit and removal, or a commit reported as
failed that reached the database's log). Segments are sealed every ``interval`` seconds: hits
reach the store about that long after they arrive.

When a write fails (disk full, permission denied, a database invalidated by an earlier failure),
its segment stays. The writer retries with jittered backoff up to ``max_backoff`` seconds,
reconnecting the store when it no longer answers, and ``write_error`` says why meanwhile
(/-/health answers 503). Collection goes on into the spool until it holds ``--spool-max`` bytes;
past it :meth:`HitBuffer.add` refuses (``spool-full``) and the endpoints say so. A damaged
segment's intact records are loaded; the segment itself is kept in ``damaged/`` for an operator.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable

import msgspec

from footfall.model import Hit
from footfall.spool import Segment, Spool, SpoolFull, SpoolReader
from footfall.store.base import Store, StoreError

log = logging.getLogger("footfall.buffer")
Rows = list[tuple[object, ...]]  # hits as ``msgspec.structs.astuple(hit)``: EVENT_COLUMNS order

SPOOL_FULL = "spool-full"  # the spool holds --spool-max bytes: the store is down or too slow
SPOOL_ERROR = "spool-error"  # the spool's disk refused the append
# reasons a hit was not taken that a client should retry later (503 + Retry-After)
UNAVAILABLE = frozenset({SPOOL_FULL, SPOOL_ERROR})
# hits a write takes: a write's transaction holds them twice (staging and table) until it commits,
# and turning records into rows holds the interpreter lock, so a busy second's segment (20,000+
# hits) is written in parts (docs/benchmarks.md)
WRITE_ROWS = 5_000

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Hit)


def encode(hit: Hit) -> bytes:
    """A hit as a spool record: MessagePack of its non-default fields, by name, so a record
    written by one version of footfall reads in the next."""
    return _encoder.encode(hit)


def decode(record: bytes) -> Hit:
    return _decoder.decode(record)


class HitBuffer:
    def __init__(
        self,
        spool: Spool,
        reader: SpoolReader,
        write: Callable[[Rows, str], int],
        store: Store,
        *,
        interval: float = 1.0,
        max_backoff: float = 30.0,
        on_tick: Callable[[], None] | None = None,
        assign: Callable[[Hit], None] | None = None,
        writer: bool = True,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        """``write(rows, name)`` stores a segment's hits and its name in one transaction (the
        rollup feed's write) or raises; ``store`` answers which names are stored and is
        reconnected after a fault; ``on_tick`` runs after each round of loading; ``assign``
        gives each hit read from the spool its session before it is written
        (:meth:`footfall.identify.SessionTracker.assign`). ``writer=False`` (a collector process
        of footfall.workers): only appends; another process loads the spool."""
        self.spool = spool
        self.reader = reader
        self.store = store
        self.interval = interval
        self.max_backoff = max_backoff
        self._write = write
        self._on_tick = on_tick
        self._assign = assign
        self.writer = writer
        self._jitter = jitter
        self._load_lock = threading.Lock()  # one loader at a time, segments in order
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._backoff = 0.0
        self.appended = 0  # hits appended by this process
        self.flushed = 0  # hits written to the store by this process
        self.failures = 0  # failed write attempts
        # why the last write failed, None once one succeeds: /-/health answers 503 meanwhile
        self.write_error: str | None = None
        # seconds from the creation of the last segment loaded to its commit: how far the
        # store is behind the first hits of a segment
        self.lag_s = 0.0
        self.load_s = 0.0  # how long the last segment took to load, from reading to commit

    # -- the hot path -----------------------------------------------------------------------
    def add(self, hit: Hit) -> str | None:
        """Append a hit to the spool: None once it is there, else why it was not taken."""
        try:
            self.spool.append(encode(hit))
        except SpoolFull:
            return SPOOL_FULL
        except (OSError, ValueError) as exc:
            log.error("appending a hit to the spool at %s failed: %s", self.spool.directory, exc)
            return SPOOL_ERROR
        self.appended += 1
        return None

    @property
    def backlog_bytes(self) -> int:
        """Bytes in the spool: hits not stored yet (the open segment included)."""
        return self.spool.backlog_bytes

    @property
    def pending(self) -> int:
        """Hits this process appended and has not stored yet."""
        return max(self.appended - self.flushed, 0)

    # -- loading ----------------------------------------------------------------------------
    def flush(self) -> int:
        """Seal the open segment and load every ready one now; returns the hits written.
        Raises when a write fails (its segment stays for the next try)."""
        self.spool.seal()
        return self.load()

    def load(self) -> int:
        """Load the sealed segments (and those of dead processes), oldest first."""
        with self._load_lock:
            written = 0
            ready = self.reader.ready()
            try:
                for segment in ready:
                    written += self._load(segment)
            finally:
                if ready:
                    self.spool.rescan()  # room for new hits as soon as segments are gone
            return written

    def _load(self, segment: Segment) -> int:
        """Store a segment's hits, ``WRITE_ROWS`` at a time, each write named after the segment
        and its first record (the names recorded already are skipped), then remove it."""
        began = time.monotonic()
        records = self.reader.read(segment)
        starts = range(0, len(records.records), WRITE_ROWS)
        names = [f"{segment.name}+{start}" for start in starts]
        written = 0
        try:  # the store may fail at any of these: the segment stays for the next try
            stored = self.store.loaded_batches(names) if names else set()
            for start, name in zip(starts, names, strict=True):
                if name in stored:
                    continue
                rows = self._rows(segment, records.records[start : start + WRITE_ROWS], start)
                written += self._write(rows, name) if rows else 0
                self.flushed += len(rows)
        except Exception as exc:
            self._failed(exc, len(records.records) - written)
            raise
        if self.write_error is not None:
            log.warning("writing to the store works again after %d failures", self.failures)
            self.write_error = None
        self.lag_s = max(0.0, time.time() - segment.sequence / 1e9)
        self.load_s = time.monotonic() - began
        if records.damage is not None and records.damage.kind == "corrupt":
            kept = self.reader.quarantine(segment)
            log.error(
                "spool segment %s is damaged; its intact hits are stored, it is kept at %s",
                segment.name,
                kept,
            )
        else:
            self.reader.remove(segment)
        return written

    def _rows(self, segment: Segment, records: list[bytes], first: int) -> Rows:
        rows: Rows = []
        assign = self._assign
        for n, record in enumerate(records, first):
            try:
                hit = decode(record)
            except msgspec.DecodeError as exc:  # a checksummed record footfall did not write
                log.error("record %d of spool segment %s is not a hit: %s", n, segment.name, exc)
                continue
            if assign is not None:
                assign(hit)
            rows.append(msgspec.structs.astuple(hit))
        return rows

    def _failed(self, exc: Exception, rows: int) -> None:
        """Count a failed write; log the first of a run of failures with what to do, the rest at
        debug level (a dead store fails at every retry)."""
        self.failures += 1
        first = self.write_error is None
        self.write_error = f"{type(exc).__name__}: {exc}"
        if not first:
            log.debug("writing %d hits failed again: %s", rows, exc)
            return
        log.error(
            "writing %d hits to the store failed; they stay in the spool at %s and are retried"
            " (the store reconnected when it stops answering); new hits are accepted until the"
            " spool holds --spool-max, and /-/health answers 503 meanwhile. Fix the cause (disk"
            " space, permissions): writing resumes by itself.",
            rows,
            self.spool.directory,
            exc_info=exc,
        )

    def repair(self) -> None:
        """After a failed write: reconnect a store that no longer answers."""
        if self.store.ping():
            return
        try:
            self.store.reopen()
            log.warning("reconnected to the store after a failed write")
        except StoreError as exc:
            log.debug("reconnecting to the store failed: %s", exc)

    def _run(self) -> None:
        while not self._stop.is_set():
            wait = self.interval if not self._backoff else self._backoff * (0.5 + self._jitter())
            self._wake.wait(wait)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.load()
            except Exception:  # kept, logged by _failed; retried after a pause
                self._backoff = min(self.max_backoff, max(0.1, self._backoff * 2))
                self.repair()
                continue
            self._backoff = 0.0
            try:
                if self._on_tick:
                    self._on_tick()
            except Exception:  # never let the writer die
                log.exception("after loading the spool")

    def start(self) -> None:
        """Load in a thread of its own, starting with what an earlier run left in the spool."""
        if self._thread is None and self.writer:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="footfall-writer", daemon=True)
            self._thread.start()
            self._wake.set()

    def close(self, attempts: int = 3) -> int:
        """Stop the writer, seal the spool and load what it holds (a few tries); what cannot be
        written stays in the spool for the next start. Returns the hits written in this run."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.spool.close()
        if not self.writer:
            return 0
        for _ in range(attempts):
            try:
                self.load()
                break
            except Exception:
                self.repair()
        left = self.reader.ready()
        if left:
            log.error(
                "%d spool segments could not be written at shutdown; they stay in %s and are"
                " written at the next start",
                len(left),
                self.spool.directory,
            )
        return self.flushed
