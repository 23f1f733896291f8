"""A bounded hit buffer between the endpoints and the store.

Endpoints call :meth:`HitBuffer.add` and never wait on storage: a hit becomes one tuple appended to
a list. A background thread hands the list to the writer it was given (the rollup feed's, which
numbers each batch and appends it to the store). A flush happens when the buffer holds
``flush_size`` hits, at least every ``interval`` seconds, and on :meth:`close`. A failed write
keeps its hits and retries: a hit acknowledged to a client is not dropped by the buffer. When
``capacity`` hits are waiting, :meth:`add` refuses, and the endpoint says so.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import msgspec

from footfall.model import Hit

log = logging.getLogger("footfall.buffer")
Rows = list[tuple[object, ...]]  # hits as ``msgspec.structs.astuple(hit)``: EVENT_COLUMNS order


class HitBuffer:
    def __init__(
        self,
        write: Callable[[Rows], int],
        *,
        flush_size: int = 5000,
        capacity: int = 500_000,
        interval: float = 1.0,
        on_tick: Callable[[], None] | None = None,
    ) -> None:
        """``write`` stores a batch and returns how many rows it wrote, or raises (the batch is
        kept and retried): ``Store.append_hits``, or the rollup feed's write, which numbers
        batches for its folds."""
        self.flush_size = flush_size
        self.capacity = capacity
        self.interval = interval
        self._write = write
        self._on_tick = on_tick  # called by the flusher after each timed flush
        self._rows: Rows = []
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()  # one flush at a time, in order
        self._retry: list[Rows] = []  # written-and-failed batches, oldest first
        self._retry_rows = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.flushed = 0  # rows written so far
        self.failures = 0  # failed write attempts
        # why the last write failed, None once one succeeds: /-/health answers 503 meanwhile
        self.write_error: str | None = None

    # -- the hot path -----------------------------------------------------------------------
    def add(self, hit: Hit) -> bool:
        """Queue a hit. False when the buffer is full (the hit is not taken)."""
        row = msgspec.structs.astuple(hit)
        with self._lock:  # uncontended almost always; _take swaps the list under it
            pending = len(self._rows)
            if pending + self._retry_rows >= self.capacity:
                return False
            self._rows.append(row)
        if pending + 1 >= self.flush_size:
            self._wake.set()
        return True

    @property
    def pending(self) -> int:
        return len(self._rows) + self._retry_rows

    # -- flushing ---------------------------------------------------------------------------
    def _take(self) -> Rows:
        with self._lock:
            taken, self._rows = self._rows, []
        return taken

    def flush(self) -> int:
        """Write everything waiting now; returns rows written. Failed batches stay for a retry."""
        with self._flush_lock:
            taken = self._take()
            batches = self._retry
            self._retry = []
            # each write at most flush_size hits: a write's transaction holds its hits twice
            # (staging and table) until it commits, so a flusher that fell behind stays bounded
            step = max(self.flush_size, 1)
            batches += [taken[i : i + step] for i in range(0, len(taken), step)]
            written = 0
            for i, batch in enumerate(batches):
                try:
                    self._write(batch)
                except Exception as exc:
                    self._failed(exc, len(batch))
                    self._retry = batches[i:]
                    break
                written += len(batch)
                if self.write_error is not None:
                    log.warning("writing to the store works again after %d failures", self.failures)
                    self.write_error = None
            self._retry_rows = sum(len(b) for b in self._retry)
            self.flushed += written
        return written

    def _failed(self, exc: Exception, rows: int) -> None:
        """Count a failed write; log the first of a run of failures with what to do, the rest
        at debug level (a dead store fails every second)."""
        self.failures += 1
        first = self.write_error is None
        self.write_error = f"{type(exc).__name__}: {exc}"
        if not first:
            log.debug("writing %d hits failed again: %s", rows, exc)
            return
        log.error(
            "writing %d hits to the store failed; they are kept in memory and retried, new hits"
            " are accepted until %d are waiting, and /-/health answers 503 meanwhile. If the"
            " store reports it was invalidated (disk full, a directory it cannot write), fix"
            " the cause and restart footfall: SIGTERM writes what the buffer holds.",
            rows,
            self.capacity,
            exc_info=exc,
        )

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            try:
                self.flush()
                if self._on_tick:
                    self._on_tick()
            except Exception:  # never let the flusher die
                log.exception("flush failed")

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="footfall-flusher", daemon=True)
            self._thread.start()

    def close(self, attempts: int = 5) -> int:
        """Stop the timer and write everything left (retrying a failed write a few times)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.flush()
        for _ in range(attempts):
            if not self._retry_rows:
                break
            self.flush()
        if self.pending:
            log.error("%d hits could not be written at shutdown", self.pending)
        return self.flushed
