"""A durable, append-only spool of framed records on local disk, between collectors and one writer.

A collector acknowledges a hit once :meth:`Spool.append` returned: the record was handed to the
kernel with one ``os.pwrite`` (and fsynced, under ``fsync="always"``). One writer process drains
the directory with :class:`SpoolReader` and removes a segment once its database committed it;
storing :attr:`Segment.name` in that transaction makes loading idempotent across a crash between
commit and removal. Collector processes share a directory, each under its own ``owner`` (a flocked
``.<owner>.lock`` file keeps two live spools from using one).

Format. A segment starts with the 8 bytes ``b"FFSPOOL1"``; each record is the payload's length
(1 to ``MAX_RECORD``) and its ``zlib.crc32``, both 4-byte little-endian, then the payload. There
are no empty records, so zero-filled bytes never read as records. A segment is
``<owner>-<20-digit time_ns>.open`` while its collector holds an exclusive ``flock`` on it, and
``.seg`` once sealed; segments sort by the time_ns. A new segment is created as a hidden
``.<name>.new``, locked, and only then renamed ``.open``: an unlocked ``.open`` means a dead owner,
and a reader treats it like a sealed segment.

A reader stops at the first damaged record and never yields a partial or corrupt one. The damage is
``torn`` when it is confined to the end of the file (a short header, a length past the end, a CRC
mismatch in the last record, a zero-filled tail): what a kill mid-write or a power loss leaves. It
is ``corrupt`` when bytes follow the bad record, or the file header is wrong; then
:meth:`SpoolReader.quarantine` moves the segment to ``damaged/`` for an operator.

Durability by ``fsync`` policy; all three survive kill -9 of the collector:

- ``none``: page cache only. A kernel crash or power loss loses what the kernel had not written
  back yet (typically up to 30 s) and can leave torn or zero-filled tails.
- ``interval`` (default): the spool's thread fsyncs the open segment (and, once, the directory
  entry) every ``fsync_interval`` seconds: a power loss loses at most the records acknowledged in
  that window plus one fsync's duration.
- ``always``: each append fsyncs before returning (a new segment also fsyncs the directory), so an
  acknowledged record survives a power loss on storage that honours flushes. Appends serialize on
  that fsync: batch with ``append_many``.

Sealing (``interval``, ``always``: fsync of the file, rename, fsync of the directory) runs on the
spool's thread, never in an append. A segment is retired when the next append would take it past
``segment_bytes`` or it holds records and is ``segment_age`` seconds old — checked on append and by
the thread, so a quiet collector's last records are sealed within about ``1.25 * segment_age`` —
and on :meth:`Spool.close`. Segments are created by the first append after a seal: none is empty.

A failed write (disk full, EFBIG, EIO) raises and acknowledges nothing: the segment is truncated
back to its last whole record. Should the truncation fail too, the segment is sealed as it is: a
reader stops at its torn record, but may read whole records of the failed batch (a retry duplicates
them). A failed ``always`` fsync raises too, with the records written: duplicates on a retry.

A Spool starts a thread and holds flocks: create it after forking, in the process that uses it,
on a local file system.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import re
import struct
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

log = logging.getLogger("footfall.spool")

MAGIC = b"FFSPOOL1"
RECORD_HEADER = struct.Struct("<II")  # payload length, CRC32 of the payload
MAX_RECORD = 1 << 20
_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.-]*)-(\d{20})$")
Fsync = Literal["none", "interval", "always"]


class SpoolFull(Exception):
    """The directory's backlog would pass ``max_bytes``: nothing was written."""


class OwnerTaken(RuntimeError):
    """Another live spool in this directory uses the same owner."""


@dataclass(frozen=True, order=True)
class Segment:
    sequence: int  # time_ns at creation: segments sort by it across owners
    owner: str
    name: str  # "<owner>-<sequence>": stable across sealing, to record as loaded
    path: Path
    sealed: bool  # False: an .open segment whose owner died
    size: int


@dataclass(frozen=True)
class Damage:
    offset: int  # where the intact records end
    skipped: int  # bytes from there to the end of the file
    reason: str
    kind: Literal["torn", "corrupt"]


@dataclass(frozen=True)
class SegmentContents:
    records: list[bytes]
    damage: Damage | None


@dataclass(frozen=True)
class SpoolStats:
    records: int  # appended and acknowledged
    bytes: int  # framed bytes written
    fsyncs: int
    seals: int
    write_errors: int
    refused: int  # appends refused with SpoolFull
    backlog_bytes: int


def frame(payloads: Sequence[bytes]) -> bytes:
    """The records for ``payloads``, ready to append; ValueError for an empty or oversized one."""
    parts: list[bytes] = []
    for payload in payloads:
        if not 0 < len(payload) <= MAX_RECORD:
            raise ValueError(f"a record holds 1 to {MAX_RECORD} bytes, not {len(payload)}")
        parts += (RECORD_HEADER.pack(len(payload), zlib.crc32(payload)), payload)
    return b"".join(parts)


def parse(data: bytes) -> SegmentContents:
    """Every intact record of a segment's bytes, up to the first damage."""
    n = len(data)
    records: list[bytes] = []

    def stop(offset: int, reason: str, confined: bool) -> SegmentContents:
        torn = confined or not data[offset:].strip(b"\0")
        return SegmentContents(
            records, Damage(offset, n - offset, reason, "torn" if torn else "corrupt")
        )

    if n < len(MAGIC) or data[: len(MAGIC)] != MAGIC:
        return stop(0, "bad file header", MAGIC.startswith(data))
    offset = len(MAGIC)
    while offset < n:
        if n - offset < RECORD_HEADER.size:
            return stop(offset, "short record header", True)
        length, crc = RECORD_HEADER.unpack_from(data, offset)
        end = offset + RECORD_HEADER.size + length
        if not 0 < length <= MAX_RECORD:
            return stop(offset, f"bad record length {length}", False)
        if end > n:
            return stop(offset, "record runs past the end of the file", True)
        payload = data[offset + RECORD_HEADER.size : end]
        if zlib.crc32(payload) != crc:
            return stop(offset, "CRC mismatch", end == n)
        records.append(payload)
        offset = end
    return SegmentContents(records, None)


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
    __slots__ = ("fd", "name", "path", "size", "records", "opened_at", "dirty", "dir_dirty")

    def __init__(self, fd: int, name: str, path: Path, opened_at: float, dir_dirty: bool) -> None:
        self.fd, self.name, self.path, self.opened_at = fd, name, path, opened_at
        self.size, self.records = len(MAGIC), 0
        self.dirty = False  # written since its last fsync
        self.dir_dirty = dir_dirty  # its directory entry is not fsynced yet


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
        if not _NAME.match(f"{owner}-{0:020d}"):
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
                if self.fsync == "always":
                    os.fsync(seg.fd)  # an error leaves the records written but unacknowledged
                    seg.dirty = False
                    self._fsyncs += 1
        finally:
            if wake:
                self._wake.set()

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
                os.rename(seg.path, seg.path.with_suffix(".seg"))
                if self.fsync != "none":
                    _fsync_dir(self.directory)
                with self._lock:
                    self._seals += 1
                    self._fsyncs += 0 if self.fsync == "none" else 1
            except OSError:
                log.exception("sealing %s failed; a reader takes it once we are gone", seg.path)
            finally:
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
                    match = _NAME.match(stem)
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


class SpoolReader:
    """The writer side: finds segments ready to load, reads them, removes or quarantines them."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def ready(self) -> list[Segment]:
        """Sealed segments and those a dead owner left open, oldest first."""
        found = []
        with os.scandir(self.directory) as entries:
            for entry in entries:
                stem, _, suffix = entry.name.rpartition(".")
                match = _NAME.match(stem)
                if not match or suffix not in ("seg", "open") or not entry.is_file():
                    continue
                path = Path(entry.path)
                if suffix == "open" and not _owner_gone(path):
                    continue
                try:
                    size = entry.stat().st_size
                except FileNotFoundError:
                    continue
                found.append(Segment(int(match[2]), match[1], stem, path, suffix == "seg", size))
        return sorted(found)

    def read(self, segment: Segment) -> SegmentContents:
        """The segment's intact records in order, and what was skipped (logged too)."""
        contents = parse(segment.path.read_bytes())
        damage = contents.damage
        if damage is not None:
            log.log(
                logging.WARNING if damage.kind == "torn" else logging.ERROR,
                "%s: %s at byte %d; %d bytes skipped after %d records (%s)",
                segment.path.name, damage.reason, damage.offset, damage.skipped,
                len(contents.records), damage.kind,
            )  # fmt: skip
        return contents

    def records(self, segment: Segment) -> list[bytes]:
        return self.read(segment).records

    def remove(self, segment: Segment) -> None:
        """Delete a segment once its records are committed elsewhere. Idempotent."""
        segment.path.unlink(missing_ok=True)

    def quarantine(self, segment: Segment) -> Path:
        """Move a corrupt segment to ``damaged/`` for an operator; returns its new path."""
        damaged = self.directory / "damaged"
        damaged.mkdir(exist_ok=True)
        target = damaged / segment.path.name
        os.rename(segment.path, target)
        log.error("%s moved to %s", segment.path.name, target)
        return target


def _owner_gone(path: Path) -> bool:
    """Whether no process holds the flock of this .open segment, still under this name (not
    sealed and released since it was listed)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return os.path.samestat(os.stat(path), os.fstat(fd))
    except (BlockingIOError, FileNotFoundError):
        return False
    finally:
        os.close(fd)
