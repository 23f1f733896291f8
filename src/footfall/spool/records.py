"""The spool's file format: framed, checksummed records, segment names and damage reports
(footfall.spool describes the format)."""

from __future__ import annotations

import logging
import re
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

log = logging.getLogger("footfall.spool")

MAGIC = b"FFSPOOL1"
RECORD_HEADER = struct.Struct("<II")  # payload length, CRC32 of the payload
MAX_RECORD = 1 << 20
SEGMENT_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.-]*)-(\d{20})$")
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
