"""The collector's side of the spool: :class:`Spool` appends records to its own segments."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from footfall.spool.records import (
    MAGIC,
    SEGMENT_NAME,
    Fsync,
    OwnerTaken,
    SpoolFull,
    SpoolStats,
    frame,
)

log = logging.getLogger("footfall.spool")


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _pwrite_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        if written <= 0:
            raise OSError(errno.EIO, "write wrote nothing")
        view, offset = view[written:], offset + written


class _OpenSegment:
    __slots__ = (
        "fd", "name", "path", "size", "records", "opened_at", "dirty", "dir_dirty", "closed",
    )  # fmt: skip

    def __init__(self, fd: int, name: str, path: Path, opened_at: float, dir_dirty: bool) -> None:
        self.fd, self.name, self.path, self.opened_at = fd, name, path, opened_at
        self.size, self.records = len(MAGIC), 0
        self.dirty = False  # written since its last fsync
        self.dir_dirty = dir_dirty  # its directory entry is not fsynced yet
        self.closed = False  # sealed (fsynced first, unless fsync is none) and its fd closed


class Spool:
    """The collector side: appends records to this owner's open segment. A background thread
    seals segments, fsyncs (``interval``) and re-reads the backlog, so appends wait for none of
    that; only ``always`` fsyncs in :meth:`append_many`."""

    def __init__(
        self,
        directory: Path,
        *,
        owner: str,
        fsync: Fsync = "interval",
        fsync_interval: float = 0.1,
        segment_bytes: int = 64 << 20,
        segment_age: float = 1.0,
        max_bytes: int = 2 << 30,
        rescan_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``rescan_interval``: how often the backlog figure is re-read from the directory (also
        after each new segment, and before refusing an append), so it drops as the writer
        removes segments. ``clock`` measures ages and intervals."""
        if not SEGMENT_NAME.match(f"{owner}-{0:020d}"):
            raise ValueError(f"owner {owner!r}: letters, digits, '_', '.', '-'")
        if fsync not in ("none", "interval", "always"):
            raise ValueError(f"fsync {fsync!r}: none, interval or always")
        self.directory = Path(directory)
        self.owner, self.fsync, self.fsync_interval = owner, fsync, fsync_interval
        self.segment_bytes, self.segment_age = segment_bytes, segment_age
        self.max_bytes, self.rescan_interval = max_bytes, rescan_interval
        self._clock = clock
        self._lock = threading.Lock()  # the open and retired segments, the counters
        self._seal_lock = threading.Lock()  # held while a segment's fd is fsynced or closed
        self._scan_lock = threading.Lock()
        self._current: _OpenSegment | None = None
        self._retired: list[_OpenSegment] = []  # no longer written, waiting to be sealed
        self._closed = False
        self._deferring = threading.local()  # see deferring()
        self._unsynced: list[_OpenSegment] = []  # written by deferred appends, not fsynced yet
        self._rescan_due = False
        self._records = self._bytes = self._fsyncs = self._seals = 0
        self._write_errors = self._refused = 0
        self.directory.mkdir(parents=True, exist_ok=True)
        self._owner_fd = os.open(self.directory / f".{owner}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._owner_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._owner_fd)
            raise OwnerTaken(f"owner {owner!r} is in use in {self.directory}") from None
        self._last_seq = 0
        self._backlog = 0
        self._scanned_at = self._fsynced_at = clock()
        self._rescan(startup=True)
        self._wake = threading.Event()
        tick = min(segment_age / 4, rescan_interval, fsync_interval if fsync == "interval" else 1.0)
        self._thread = threading.Thread(
            target=self._run, args=(max(tick, 0.005),), name=f"footfall-spool-{owner}", daemon=True
        )
        self._thread.start()

    # -- appending --------------------------------------------------------------------------
    def append(self, payload: bytes) -> None:
        """Append one record; returns once the kernel has it. SpoolFull, ValueError, OSError."""
        self.append_many((payload,))

    def append_many(self, payloads: Sequence[bytes]) -> None:
        """Append records with one write: all are acknowledged on return, none on an exception."""
        data = frame(payloads)
        if not data:
            return
        if self._backlog + len(data) > self.max_bytes:
            if self._clock() - self._scanned_at >= self.rescan_interval:
                self._rescan(wait=True)  # the writer may have removed segments since
        wake = False
        try:
            with self._lock:
                if self._closed:
                    raise ValueError("the spool is closed")
                if self._backlog + len(data) > self.max_bytes:
                    self._refused += 1
                    raise SpoolFull(f"{self._backlog} bytes wait in {self.directory}")
                now = self._clock()
                seg = self._current
                if seg is not None and seg.records and self._due(seg, now, len(data)):
                    self._retired.append(seg)
                    seg = self._current = None
                    wake = True
                if seg is None:
                    seg = self._current = self._create(now)
                    self._rescan_due = wake = True
                try:
                    _pwrite_all(seg.fd, data, seg.size)
                except OSError:
                    self._write_errors += 1
                    try:
                        os.ftruncate(seg.fd, seg.size)  # cut off what the failed write left
                    except OSError:
                        log.exception("could not truncate %s: sealing it as it is", seg.path)
                        self._retired.append(seg)
                        self._current, wake = None, True
                    raise
                seg.size += len(data)
                seg.records += len(payloads)
                seg.dirty = True
                self._records += len(payloads)
                self._bytes += len(data)
                self._backlog += len(data)
                if self.fsync == "always" and getattr(self._deferring, "on", False):
                    if seg not in self._unsynced:
                        self._unsynced.append(seg)  # sync_deferred() fsyncs it
                elif self.fsync == "always":
                    os.fsync(seg.fd)  # an error leaves the records written but unacknowledged
                    seg.dirty = False
                    self._fsyncs += 1
        finally:
            if wake:
                self._wake.set()

    @contextlib.contextmanager
    def deferring(self) -> Iterator[None]:
        """Group commit under ``always``: appends made by this thread in the block return before
        their fsync, and are not acknowledged until :meth:`sync_deferred` has returned. The HTTP
        server's fast path answers a whole event-loop turn's pixel requests after one fsync."""
        self._deferring.on = True
        try:
            yield
        finally:
            self._deferring.on = False

    def sync_deferred(self) -> None:
        """fsync every segment deferred appends wrote (a segment sealed meanwhile was fsynced
        when it was sealed). OSError: those appends are not durable; do not acknowledge them."""
        with self._lock:
            segments, self._unsynced = self._unsynced, []
        for seg in segments:
            with self._seal_lock:
                if seg.closed:
                    if seg.dirty:  # its sealing failed before its fsync
                        raise OSError(errno.EIO, f"sealing {seg.path} failed")
                    continue
                os.fsync(seg.fd)
                seg.dirty = False
                with self._lock:
                    self._fsyncs += 1

    def _due(self, seg: _OpenSegment, now: float, more: int) -> bool:
        return seg.size + more > self.segment_bytes or now - seg.opened_at >= self.segment_age

    def _create(self, now: float) -> _OpenSegment:
        """A new locked, empty segment: created hidden, locked, then named ``.open``."""
        seq = self._last_seq = max(time.time_ns(), self._last_seq + 1)
        name = f"{self.owner}-{seq:020d}"
        hidden, path = self.directory / f".{name}.new", self.directory / f"{name}.open"
        fd = os.open(hidden, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            _pwrite_all(fd, MAGIC, 0)
            os.rename(hidden, path)
            if self.fsync == "always":  # under interval, the next fsync covers the directory
                _fsync_dir(self.directory)
        except BaseException:
            os.close(fd)
            for leftover in (hidden, path):
                leftover.unlink(missing_ok=True)
            raise
        self._backlog += len(MAGIC)
        return _OpenSegment(fd, name, path, now, dir_dirty=self.fsync == "interval")

    # -- sealing, fsyncing, rescanning: the background thread --------------------------------
    def seal(self) -> str | None:
        """Seal the open segment (and any waiting) now; returns the open one's name, None when
        it held nothing."""
        with self._lock:
            seg = self._current
            taken = self._take(everything=True)
        for old in taken:
            self._finalize(old)
        return seg.name if seg is not None and seg.records else None

    def _take(self, *, everything: bool) -> list[_OpenSegment]:
        """Under the lock: the retired segments, with the open one if old enough or everything."""
        seg = self._current
        if seg is not None and (everything or seg.records and self._due(seg, self._clock(), 0)):
            self._retired.append(seg)
            self._current = None
        taken, self._retired = self._retired, []
        return taken

    def _finalize(self, seg: _OpenSegment) -> None:
        """Seal a retired segment (or delete it when empty) and release its lock; logs errors,
        since the records in it were acknowledged already."""
        with self._seal_lock:
            try:
                if not seg.records:
                    seg.path.unlink(missing_ok=True)
                    with self._lock:
                        self._backlog -= seg.size
                    return
                if self.fsync != "none":
                    os.fsync(seg.fd)
                    seg.dirty = False
                os.rename(seg.path, seg.path.with_suffix(".seg"))
                if self.fsync != "none":
                    _fsync_dir(self.directory)
                with self._lock:
                    self._seals += 1
                    self._fsyncs += 0 if self.fsync == "none" else 1
            except OSError:
                log.exception("sealing %s failed; a reader takes it once we are gone", seg.path)
            finally:
                seg.closed = True
                os.close(seg.fd)

    def _sync(self) -> None:
        """fsync the open segment if it was written since (and its directory entry, once)."""
        with self._seal_lock:
            with self._lock:
                seg = self._current
                if seg is None or not seg.dirty:
                    return
                seg.dirty = False
            try:
                os.fsync(seg.fd)
                if seg.dir_dirty:
                    _fsync_dir(self.directory)
                    seg.dir_dirty = False
            except OSError:
                seg.dirty = True
                log.exception("fsync of %s failed", seg.path)
                return
            with self._lock:
                self._fsyncs += 1

    def _run(self, tick: float) -> None:
        while True:
            self._wake.wait(tick)
            self._wake.clear()
            if self._closed:
                return  # close() seals what is left
            try:
                now = self._clock()
                with self._lock:
                    taken = self._take(everything=False)
                    rescan = self._rescan_due or now - self._scanned_at >= self.rescan_interval
                    self._rescan_due = False
                for old in taken:
                    self._finalize(old)
                if self.fsync == "interval" and now - self._fsynced_at >= self.fsync_interval:
                    self._fsynced_at = now
                    self._sync()
                if rescan:
                    self._rescan()
            except Exception:  # never let the timer die
                log.exception("spool timer failed")

    def _rescan(self, *, startup: bool = False, wait: bool = False) -> None:
        """Re-read the backlog (every owner's segments) from the directory, without blocking
        appends: bytes appended during the scan are added on top. Skipped when a scan is under
        way, unless ``wait``. At startup, also find this owner's last sequence and remove its
        half-created segments."""
        if not self._scan_lock.acquire(blocking=wait):
            return
        try:
            with self._lock:
                written_before = self._bytes
            started = self._clock()
            total = 0
            with os.scandir(self.directory) as entries:
                for entry in entries:
                    stem, _, suffix = entry.name.rpartition(".")
                    if startup and suffix == "new" and entry.name.startswith(f".{self.owner}-"):
                        Path(entry.path).unlink(missing_ok=True)
                    match = SEGMENT_NAME.match(stem)
                    if suffix not in ("seg", "open") or not match:
                        continue
                    try:
                        total += entry.stat().st_size
                    except FileNotFoundError:
                        continue
                    if startup and match[1] == self.owner:
                        self._last_seq = max(self._last_seq, int(match[2]))
            with self._lock:
                self._backlog = total + self._bytes - written_before
                self._scanned_at = started
        finally:
            self._scan_lock.release()

    def rescan(self) -> None:
        """Re-read the backlog now (a writer in this process removed segments)."""
        self._rescan(wait=True)

    @property
    def backlog_bytes(self) -> int:
        """Bytes in the directory's segments, every owner's: as of the last rescan plus appends."""
        return self._backlog

    def stats(self) -> SpoolStats:
        with self._lock:
            return SpoolStats(
                self._records, self._bytes, self._fsyncs, self._seals,
                self._write_errors, self._refused, self._backlog,
            )  # fmt: skip

    def close(self) -> None:
        """Stop the thread and seal the open segment. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._wake.set()
        self._thread.join()
        self.seal()
        os.close(self._owner_fd)

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
