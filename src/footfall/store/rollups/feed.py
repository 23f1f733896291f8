"""Feeding written hits to the rollups in bigger, rarer steps.

Folding hits into the rollups costs about ten SQL statements whatever their number (~170 ms for
5,000 hits, ~575 ms for 50,000), so doing it after every one-second buffer flush would cost more
CPU than collecting the hits. :class:`RollupFeed` writes the buffer's batches
(:meth:`RollupFeed.write`), numbering each write in the events table's ``fold_seq`` column, and
folds them in together once ``max_rows`` hits wait or the oldest has waited ``max_wait_ms``, and on
shutdown. A fold reads its hits back from the events table by those numbers: nothing waits in the
process's memory. Rollup answers trail the raw events by at most that wait.

Once :meth:`RollupFeed.start` ran, folds happen on the feed's own thread, so the buffer's flusher
goes on writing (and releasing) hits while a fold takes its time; without it (tests, imports) they
happen in the caller's thread.

A crash between a write and its fold loses nothing: ``rollup_feed`` bookmarks the last write folded
in for every app (row ``''``) and for each app on its own, each bookmark moved in the same transaction
as the fold it records. At start-up, :meth:`recover` folds in exactly the writes after them.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from footfall.clock import Clock
from footfall.store.rollups.bookkeeping import BOOKMARKS, EVERY_APP, FEED_DDL, bookmark_step
from footfall.store.rollups.fold import Rollups

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger("footfall.rollup")

_LAST_WRITE = "SELECT max(fold_seq) FROM events"
_UNFOLDED = (
    "SELECT fold_seq, count(*) FROM events WHERE fold_seq > ? GROUP BY fold_seq ORDER BY fold_seq"
)
_STEP_APPS = (
    "SELECT DISTINCT app_id FROM events WHERE fold_seq > ? AND fold_seq <= ? ORDER BY app_id"
)


class RollupFeed:
    def __init__(
        self,
        rollups: Rollups,
        clock: Clock,
        *,
        max_rows: int = 50_000,
        max_wait_ms: int = 10_000,
        after_fold: Callable[[], object] | None = None,
    ) -> None:
        self.rollups = rollups
        self.store = rollups.store
        self.clock = clock
        self.max_rows = max_rows
        self.max_wait_ms = max_wait_ms
        self.after_fold = after_fold  # e.g. give the fold's memory back to the system
        self._lock = threading.Lock()  # guards the numbering and what waits
        self._fold_lock = threading.Lock()  # one fold at a time, in order
        self._rows = 0
        # writes not folded in yet, oldest first: (number, hits, when written)
        self._pending: deque[tuple[int, int, int]] = deque()
        self._folded = 0  # writes up to this number are folded in for every app
        self._written = 0  # the last number given to a write
        self.folds = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if self.rollups.enabled:
            self.store.write([(FEED_DDL, [])])
            self._folded = self._bookmarks().get(EVERY_APP, 0)
            last = self.store.fetch(_LAST_WRITE)[0][0]
            self._written = max(self._folded, int(last or 0))
            if self._written > self._folded:  # left by a crash: recover() folds them in
                self._pending.extend(
                    (int(seq), int(n), clock.now_ms())
                    for seq, n in self.store.fetch(_UNFOLDED, [self._folded])
                )
                self._rows = sum(rows for _, rows, _ in self._pending)

    @property
    def waiting(self) -> int:
        return self._rows

    def _bookmarks(self) -> dict[str, int]:
        return {a: int(s) for a, s in self.store.fetch(BOOKMARKS)}

    def recover(self) -> list[str]:
        """Fold in the writes a crash left unfolded (each app from its own bookmark); returns
        those apps. Run before the buffer writes anything (a later fold would do it anyway)."""
        if not self.rollups.enabled:
            return []
        if self._written == self._folded:
            return []
        log.warning(
            "folding in hits written before a crash (writes %d to %d)",
            self._folded + 1,
            self._written,
        )
        return list(dict.fromkeys(app_id for app_id, _ in self._fold()))

    def write(self, rows: Sequence[tuple[object, ...]], batch: str | None = None) -> int:
        """Write hits (tuples in EVENT_COLUMNS order) to the events table, numbered for the next
        fold (the spool writer's writes; ``batch``: see ``Store.append_hits``); returns the rows
        written."""
        if not self.rollups.enabled or not rows:
            return self.store.append_hits(rows, batch=batch)
        return self._numbered(lambda seq: self.store.append_hits(rows, fold_seq=seq, batch=batch))

    def write_table(self, hits: pa.Table) -> int:
        """:meth:`write` for hits as an Arrow table in ``ARROW_SCHEMA`` (imports, bulk loads)."""
        if not self.rollups.enabled or hits.num_rows == 0:
            return self.store.insert_events(hits)
        return self._numbered(lambda seq: self.store.insert_events(hits, fold_seq=seq))

    def _numbered(self, write: Callable[[int], int]) -> int:
        with self._lock:
            seq = self._written + 1
            written = write(seq)
            self._written = seq
            self._pending.append((seq, written, self.clock.now_ms()))
            self._rows += written
            due = self._rows >= self.max_rows
        if due:
            self._due()
        return written

    def tick(self) -> None:
        """Fold in what waits once the oldest write has waited long enough (the flusher's timer)."""
        if self._is_due():
            self._due()

    def _is_due(self) -> bool:
        with self._lock:
            if not self._pending:
                return False
            waited = self.clock.now_ms() - self._pending[0][2]
            return self._rows >= self.max_rows or waited >= self.max_wait_ms

    def _due(self) -> None:
        if self._thread is not None:
            self._wake.set()
        else:
            self._catch_up()

    def _catch_up(self) -> None:
        """Fold bounded steps while a step is due (enough waiting, or waited long enough)."""
        while self._is_due() and self._fold_step() is not None:
            pass

    # -- the folding thread -----------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None and self.rollups.enabled:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="footfall-rollups", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self._catch_up()
            except Exception:  # never let the folding thread die
                log.exception("rollup fold failed")

    def close(self) -> None:
        """Stop the folding thread (a fold under way finishes); what still waits stays waiting
        for :meth:`fold`."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            self._wake.set()
            thread.join()

    def fold(self) -> int:
        """Fold every waiting write into the rollups now, in bounded steps; returns the hits
        folded in."""
        return sum(rows for _, rows in self._fold())

    def _fold(self) -> list[tuple[str, int]]:
        """Fold every write after the last fold: (app, hits folded in) of each step's apps."""
        done: list[tuple[str, int]] = []
        while (step := self._fold_step()) is not None:
            done += step
        return done

    def _take(self) -> int:
        """The last write of the next step: the oldest waiting writes up to ``max_rows`` hits
        (at least one write), taken off the waiting list."""
        with self._lock:
            through, taken = self._folded, 0
            while self._pending and (not taken or taken + self._pending[0][1] <= self.max_rows):
                seq, rows, _ = self._pending.popleft()
                through, taken = seq, taken + rows
            self._rows -= taken
            if not self._pending:  # a step that failed took its writes off the list: retry them
                through = self._written
            return through

    def _fold_step(self) -> list[tuple[str, int]] | None:
        """Fold the next step's writes, app by app: (app, hits folded in) of each; None when
        nothing waits."""
        with self._fold_lock:
            after, through = self._folded, self._take()
            if through == after:
                return None
            apps = self.store.fetch(_STEP_APPS, [after, through])
            marks = self._bookmarks()  # an app folded further by a fold a crash cut short
            done = []
            for (app_id,) in apps:
                since = max(after, marks.get(app_id, 0))
                try:  # a failure flags the app for a rebuild from raw events, and the fold goes on
                    rows = self.rollups.apply_stored(
                        app_id, since, through, [bookmark_step(app_id, through)]
                    )
                except Exception:
                    log.exception("folding the hits of app %s into the rollups failed", app_id)
                    rows = 0
                done.append((app_id, rows))
            self.store.write([bookmark_step(EVERY_APP, through)])
            self._folded = through
            self.folds += 1
            if self.after_fold is not None:
                self.after_fold()
            return done
