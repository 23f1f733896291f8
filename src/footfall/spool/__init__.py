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

from footfall.spool.appender import Spool
from footfall.spool.reader import SpoolReader
from footfall.spool.records import (
    MAGIC,
    MAX_RECORD,
    RECORD_HEADER,
    Damage,
    Fsync,
    OwnerTaken,
    Segment,
    SegmentContents,
    SpoolFull,
    SpoolStats,
    frame,
    parse,
)

__all__ = [
    "MAGIC",
    "MAX_RECORD",
    "RECORD_HEADER",
    "Damage",
    "Fsync",
    "OwnerTaken",
    "Segment",
    "SegmentContents",
    "Spool",
    "SpoolFull",
    "SpoolReader",
    "SpoolStats",
    "frame",
    "parse",
]
