"""The writer's side of the spool: :class:`SpoolReader` finds, reads and removes segments."""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path

from footfall.spool.records import SEGMENT_NAME, Segment, SegmentContents, parse

log = logging.getLogger("footfall.spool")


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
                match = SEGMENT_NAME.match(stem)
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
