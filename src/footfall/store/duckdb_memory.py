"""DuckDB's memory limit as two sizes: a resting budget the store runs within, and the most that a
piece of work which does not fit in it may use.

DuckDB keeps every block of the file it has read cached until its memory limit forces it out, and
the default limit is 80 % of the machine's memory: a dashboard read over a month of a busy site
left its blocks in memory for good, and a loaded server's cache grew by the blocks each write
touched. So the store runs within a small resting limit
(``--db-memory-resting``), where the cache stays; a read someone waits for runs with the limit
raised to ``--db-memory`` (default: DuckDB's own), and so does a statement that runs out of memory
at rest — a compaction of a busy day, a rebuild — which runs again.

The limit is DuckDB's, database-wide: it is raised while at least one piece of work needs it, and
put back by :meth:`MemoryBudget.rest` once none does (the store's ``settle()``, after each rollup
fold and each upkeep run: lowering makes DuckDB evict cached blocks). A read someone waits for
runs raised from the start (``DuckDBStore.answer``). Sizes are bound values, never SQL text.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import duckdb

log = logging.getLogger("footfall.store")

T = TypeVar("T")

_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}
_UNITS |= {"kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*")


def size_bytes(text: str) -> int:
    """A memory size as DuckDB writes and reads them (``64MB``, ``1.5 GiB``; KB is 1,000 bytes,
    KiB 1,024) in bytes; ``ValueError`` for anything else."""
    found = _SIZE.fullmatch(text.lower())
    if not found or found.group(2) not in _UNITS:
        raise ValueError(f"{text!r} is not a memory size such as 64MB or 1GiB")
    return int(float(found.group(1)) * _UNITS[found.group(2)])


class MemoryBudget:
    """Runs work within ``resting`` and retries what does not fit with the limit at ``most``.

    ``resting`` empty: no resting limit, DuckDB's limit stays at ``most`` (the store as it was).
    ``most`` empty: DuckDB's default limit, as read when the budget starts."""

    def __init__(self, con: duckdb.DuckDBPyConnection, resting: str, most: str) -> None:
        self._cur = con.cursor()  # this budget's own: a connection object is one thread's
        self._lock = threading.Lock()
        self._raised = 0  # pieces of work running with the limit raised
        self.configure(resting, most)

    def configure(self, resting: str, most: str) -> None:
        """Set both sizes (at start; tests change them on a running store). ``ValueError`` or a
        DuckDB error for a size DuckDB cannot read."""
        with self._lock:
            self._most_size = most
            self._set_most()
            self.most = self.limit()  # as DuckDB prints it, for messages
            self.resting = resting
            self.enabled = bool(resting) and size_bytes(resting) < size_bytes(self.most)
            self._lowered = not self.enabled
            if self.enabled and not self._raised:
                self._set(resting)
                self._lowered = True

    def limit(self) -> str:
        """DuckDB's memory limit now, as DuckDB prints it (e.g. ``64.0 MiB``)."""
        return str(self._cur.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])

    def run(self, work: Callable[[], T]) -> T:
        """``work()``; when DuckDB runs out of memory, ``work()`` once more with the limit raised
        (``work`` must be safe to repeat: a read, or a transaction that rolled back)."""
        try:
            return work()
        except duckdb.OutOfMemoryException:
            if not self.enabled:
                raise
            log.info(
                "a statement needed more than %s of memory: running it again with more",
                self.resting,
            )
        with self.raised():
            return work()

    @contextmanager
    def raised(self) -> Iterator[None]:
        """The limit at ``most`` while this runs, and until :meth:`rest` finds nothing raised
        running."""
        if not self.enabled:
            yield
            return
        with self._lock:
            if self._lowered:  # else raised already: by running work, or not rested since
                self._set_most()  # if this fails, nothing was counted
                self._lowered = False
            self._raised += 1
        try:
            yield
        finally:
            with self._lock:
                self._raised -= 1

    def rest(self) -> None:
        """Put the resting limit back if nothing raised is running. DuckDB evicts cached blocks
        to get under it, which takes time, so this is not done as each raised piece of work
        ends (a dashboard page's dozen reads evicted and re-read their blocks each time) but by
        the store's ``settle()``: after each rollup fold and each upkeep run. If DuckDB cannot
        get under the limit yet, a later call does it."""
        with self._lock:
            if not self.enabled or self._raised or self._lowered:
                return
            try:
                self._set(self.resting)
                self._lowered = True
            except duckdb.Error as exc:
                log.debug("memory limit stays raised for now: %s", exc)

    def _set_most(self) -> None:
        if self._most_size:
            self._set(self._most_size)
        else:
            self._cur.execute("RESET memory_limit")  # DuckDB's default

    def _set(self, size: str) -> None:
        self._cur.execute("SET memory_limit = ?", [size])
