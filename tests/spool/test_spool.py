"""The spool: what a collector acknowledged is what the writer reads, whatever happened in between.

Real files in tmp_path and real child processes (killed with SIGKILL, or writing past RLIMIT_FSIZE).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import footfall
from footfall.spool import (
    MAGIC,
    MAX_RECORD,
    RECORD_HEADER,
    OwnerTaken,
    Segment,
    Spool,
    SpoolFull,
    SpoolReader,
)

SRC = str(Path(footfall.__file__).resolve().parents[1])


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def record(i: int, size: int = 300) -> bytes:
    return f"{i:08d}".encode().ljust(size, b".")


def read_all(directory: Path) -> list[bytes]:
    reader = SpoolReader(directory)
    return [r for seg in reader.ready() for r in reader.records(seg)]


def only_segment(directory: Path) -> Segment:
    [segment] = SpoolReader(directory).ready()
    return segment


def child(script: str, directory: Path) -> subprocess.Popen[str]:
    """A python process running ``script`` with ``directory`` as ``sys.argv[1]``."""
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.Popen(
        [sys.executable, "-c", script, str(directory)],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


# -- round trips ------------------------------------------------------------------------------
def test_records_come_back_in_order_across_size_rotations(tmp_path: Path) -> None:
    with Spool(tmp_path, owner="a", fsync="none", segment_bytes=8192) as spool:
        for i in range(500):
            spool.append(record(i))
        spool.append_many([record(i) for i in range(500, 1000)])
    segments = SpoolReader(tmp_path).ready()
    assert len(segments) > 10 and all(s.sealed for s in segments)
    assert all(s.size <= 8192 for s in segments[:-2])  # the batch of 500 is one segment
    assert read_all(tmp_path) == [record(i) for i in range(1000)]
    assert spool.stats().records == 1000 and spool.stats().seals == len(segments)


def test_a_segment_older_than_segment_age_takes_no_more_records(tmp_path: Path) -> None:
    clock = FakeClock()
    spool = Spool(tmp_path, owner="a", fsync="none", segment_age=5.0, clock=clock)
    spool.append(record(0))
    spool.append(record(1))
    clock.now += 5.0
    spool.append(record(2))
    spool.close()
    reader = SpoolReader(tmp_path)
    assert [reader.records(s) for s in reader.ready()] == [[record(0), record(1)], [record(2)]]


def test_a_quiet_collectors_segment_is_sealed_by_the_timer_within_about_segment_age(
    tmp_path: Path,
) -> None:
    spool = Spool(tmp_path, owner="a", fsync="interval", segment_age=0.2)
    spool.append(record(0))
    start = time.monotonic()
    while not SpoolReader(tmp_path).ready() and time.monotonic() - start < 2:
        time.sleep(0.01)
    elapsed = time.monotonic() - start
    assert 0.15 < elapsed < 1.0
    assert [p.suffix for p in tmp_path.iterdir() if not p.name.startswith(".")] == [".seg"]
    spool.close()


def test_close_seals_is_idempotent_and_leaves_no_empty_segment(tmp_path: Path) -> None:
    Spool(tmp_path, owner="idle").close()
    assert SpoolReader(tmp_path).ready() == []
    spool = Spool(tmp_path, owner="a")
    spool.append(record(0))
    assert spool.seal() is not None and spool.seal() is None
    spool.close()
    spool.close()
    assert read_all(tmp_path) == [record(0)]
    with pytest.raises(ValueError, match="closed"):
        spool.append(record(1))


def test_segments_sort_by_creation_across_owners_and_keep_their_name(tmp_path: Path) -> None:
    a = Spool(tmp_path, owner="collector-a")
    b = Spool(tmp_path, owner="collector-b")
    a.append(b"first")
    b.append(b"second")
    a_name, b_name = a.seal(), b.seal()
    a.append(b"third")
    a.close()
    b.close()
    segments = SpoolReader(tmp_path).ready()
    assert [s.owner for s in segments] == ["collector-a", "collector-b", "collector-a"]
    assert [s.name for s in segments][:2] == [a_name, b_name]
    assert read_all(tmp_path) == [b"first", b"second", b"third"]


def test_one_live_spool_per_owner(tmp_path: Path) -> None:
    with Spool(tmp_path, owner="a"), pytest.raises(OwnerTaken):
        Spool(tmp_path, owner="a")
    Spool(tmp_path, owner="a").close()  # free again once the first one closed


def test_records_must_hold_1_byte_to_max_record_and_a_refused_batch_writes_nothing(
    tmp_path: Path,
) -> None:
    with Spool(tmp_path, owner="a") as spool:
        spool.append(b"x" * MAX_RECORD)
        for bad in (b"", b"x" * (MAX_RECORD + 1)):
            with pytest.raises(ValueError):
                spool.append(bad)
            with pytest.raises(ValueError):
                spool.append_many([b"fine", bad])
    assert read_all(tmp_path) == [b"x" * MAX_RECORD]


# -- damage -----------------------------------------------------------------------------------
def written_segment(directory: Path, count: int = 10) -> Segment:
    with Spool(directory, owner="a") as spool:
        spool.append_many([record(i) for i in range(count)])
    return only_segment(directory)


def test_a_torn_tail_yields_every_earlier_record_and_reports_the_skip(tmp_path: Path) -> None:
    segment = written_segment(tmp_path)
    os.truncate(segment.path, segment.size - 100)  # in the middle of the last record
    contents = SpoolReader(tmp_path).read(segment)
    assert contents.records == [record(i) for i in range(9)]
    assert contents.damage is not None and contents.damage.kind == "torn"
    assert contents.damage.skipped == RECORD_HEADER.size + 300 - 100
    assert contents.damage.offset == len(MAGIC) + 9 * (RECORD_HEADER.size + 300)


@pytest.mark.parametrize("cut", [3, RECORD_HEADER.size + 3])
def test_a_tail_cut_in_a_record_header_is_torn(tmp_path: Path, cut: int) -> None:
    segment = written_segment(tmp_path, 2)
    os.truncate(segment.path, len(MAGIC) + RECORD_HEADER.size + 300 + cut)
    contents = SpoolReader(tmp_path).read(segment)
    assert contents.records == [record(0)]
    assert contents.damage is not None and contents.damage.kind == "torn"


def test_a_flipped_payload_byte_stops_at_that_record_and_is_quarantined(tmp_path: Path) -> None:
    segment = written_segment(tmp_path)
    data = bytearray(segment.path.read_bytes())
    data[len(MAGIC) + 4 * (RECORD_HEADER.size + 300) + RECORD_HEADER.size + 7] ^= 0x01
    segment.path.write_bytes(data)
    reader = SpoolReader(tmp_path)
    contents = reader.read(segment)
    assert contents.records == [record(i) for i in range(4)]
    assert contents.damage is not None and contents.damage.kind == "corrupt"
    assert contents.damage.reason == "CRC mismatch"
    moved = reader.quarantine(segment)
    assert moved == tmp_path / "damaged" / segment.path.name and moved.exists()
    assert reader.ready() == []


def test_a_flipped_byte_in_the_last_record_is_a_torn_tail(tmp_path: Path) -> None:
    segment = written_segment(tmp_path)
    data = bytearray(segment.path.read_bytes())
    data[-1] ^= 0xFF
    segment.path.write_bytes(data)
    contents = SpoolReader(tmp_path).read(segment)
    assert len(contents.records) == 9
    assert contents.damage is not None and contents.damage.kind == "torn"


def test_a_zero_filled_tail_reads_as_torn_not_as_records(tmp_path: Path) -> None:
    segment = written_segment(tmp_path, 3)
    with open(segment.path, "ab") as f:  # what a power loss can leave: size grew, data did not
        f.write(b"\0" * 4096)
    contents = SpoolReader(tmp_path).read(segment)
    assert contents.records == [record(i) for i in range(3)]
    assert contents.damage is not None and contents.damage.kind == "torn"
    assert contents.damage.reason.startswith("bad record length")


def test_a_wrong_file_header_is_corrupt(tmp_path: Path) -> None:
    segment = written_segment(tmp_path, 3)
    with open(segment.path, "r+b") as f:
        f.write(b"NOTSPOOL")
    contents = SpoolReader(tmp_path).read(segment)
    assert contents.records == [] and contents.damage is not None
    assert contents.damage.kind == "corrupt"


# -- processes that die -----------------------------------------------------------------------
APPEND_FOREVER = """
import sys
from pathlib import Path
from footfall.spool import Spool
spool = Spool(Path(sys.argv[1]), owner="doomed", fsync="none", segment_bytes=64 * 1024)
i = 0
while True:
    spool.append(f"{i:08d}".encode().ljust(300, b"."))
    print(i, flush=True)
    i += 1
"""


def test_kill_9_loses_no_acknowledged_record(tmp_path: Path) -> None:
    proc = child(APPEND_FOREVER, tmp_path)
    assert proc.stdout is not None
    for _ in range(3000):
        proc.stdout.readline()
    os.kill(proc.pid, signal.SIGKILL)
    rest = proc.communicate()[0].split()
    last_acknowledged = int(rest[-1]) if rest else 2999
    got = read_all(tmp_path)
    assert len(got) > last_acknowledged  # and perhaps some appended but not yet printed
    assert got == [record(i) for i in range(len(got))]
    segments = SpoolReader(tmp_path).ready()
    assert len(segments) > 10 and not segments[-1].sealed  # the dead owner's .open segment


HOLD_OPEN = """
import sys
from pathlib import Path
from footfall.spool import Spool
spool = Spool(Path(sys.argv[1]), owner="live", segment_age=3600)
spool.append_many([b"one", b"two"])
print("appended", flush=True)
sys.stdin.read()
"""


def test_a_live_owners_open_segment_is_ready_only_once_its_process_is_gone(tmp_path: Path) -> None:
    proc = child(HOLD_OPEN, tmp_path)
    assert proc.stdout is not None and proc.stdout.readline() == "appended\n"
    assert [p.suffix for p in tmp_path.glob("live-*")] == [".open"]
    assert SpoolReader(tmp_path).ready() == []
    proc.kill()
    proc.wait()
    segment = only_segment(tmp_path)
    assert not segment.sealed and segment.owner == "live"
    assert SpoolReader(tmp_path).read(segment).damage is None
    with Spool(tmp_path, owner="live") as restarted:  # the owner is free again; its new
        restarted.append(b"three")  # segments sort after the dead process's
    assert read_all(tmp_path) == [b"one", b"two", b"three"]


WRITE_PAST_FSIZE = """
import resource, signal, sys
from pathlib import Path
from footfall.spool import Spool
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (10_000, 10_000))
spool = Spool(Path(sys.argv[1]), owner="full", fsync="none")
i = 0
try:
    while True:
        spool.append_many([f"{j:08d}".encode().ljust(300, b".") for j in range(i, i + 3)])
        i += 3
except OSError as exc:
    print("failed", exc.errno, i)
spool.append(b"after the failure")
spool.close()
print("stats", spool.stats().write_errors)
"""


def test_a_failed_write_raises_and_leaves_no_record_of_its_batch(tmp_path: Path) -> None:
    """10,000 bytes hold the header and 10 batches of 3 records; the 11th batch's write stops
    short after two whole records and fails: the spool cuts them off again."""
    done = subprocess.run(
        [sys.executable, "-c", WRITE_PAST_FSIZE, str(tmp_path)],
        env={**os.environ, "PYTHONPATH": SRC},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["failed", "27", "30", "stats", "1"]  # 27: EFBIG
    segment = only_segment(tmp_path)
    contents = SpoolReader(tmp_path).read(segment)
    assert contents.damage is None
    assert contents.records == [record(i) for i in range(30)] + [b"after the failure"]


# -- limits and threads -----------------------------------------------------------------------
def test_spool_full_refuses_until_the_writer_removed_segments(tmp_path: Path) -> None:
    clock = FakeClock()
    spool = Spool(
        tmp_path, owner="a", fsync="none", segment_bytes=1024, max_bytes=8192, clock=clock
    )
    accepted = 0
    with pytest.raises(SpoolFull):
        while True:
            spool.append(record(accepted))
            accepted += 1
    assert 20 < accepted < 27 and spool.stats().refused == 1
    assert spool.backlog_bytes <= 8192
    spool.seal()
    reader = SpoolReader(tmp_path)
    assert [r for s in reader.ready() for r in reader.records(s)] == [
        record(i) for i in range(accepted)
    ]
    for segment in reader.ready():
        reader.remove(segment)
    spool.rescan()  # as the writer does once it removed segments
    more = [record(accepted + n) for n in range(10)]
    for payload in more:
        spool.append(payload)
    assert spool.backlog_bytes < 4096
    spool.close()
    assert read_all(tmp_path) == more


def test_threads_appending_at_once_each_record_read_back_once_and_whole(tmp_path: Path) -> None:
    threads, per_thread = 8, 1500

    def work(t: int) -> None:
        for i in range(0, per_thread, 3):
            if i % 2:
                spool.append_many([f"{t}:{j}".encode() * 20 for j in range(i, i + 3)])
            else:
                for j in range(i, i + 3):
                    spool.append(f"{t}:{j}".encode() * 20)

    with Spool(tmp_path, owner="a", fsync="interval", segment_bytes=32 * 1024) as spool:
        workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    got = read_all(tmp_path)
    assert len(got) == threads * per_thread
    decoded = [r[: len(r) // 20].decode() for r in got]
    assert all(r == r[: len(r) // 20] * 20 for r in got)
    for t in range(threads):  # each thread's records in its order
        assert [d for d in decoded if d.startswith(f"{t}:")] == [
            f"{t}:{j}" for j in range(per_thread)
        ]
    assert spool.stats().fsyncs >= spool.stats().seals


def test_interval_fsyncs_the_open_segment_from_the_background_thread(tmp_path: Path) -> None:
    with Spool(tmp_path, owner="a", fsync="interval", fsync_interval=0.02) as spool:
        spool.append(record(0))
        deadline = time.monotonic() + 2
        while spool.stats().fsyncs == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert spool.stats().fsyncs >= 1 and spool.stats().seals == 0
    assert spool.stats().seals == 1


def test_always_fsyncs_every_append(tmp_path: Path) -> None:
    with Spool(tmp_path, owner="a", fsync="always") as spool:
        for i in range(5):
            spool.append(record(i))
        spool.append_many([record(i) for i in range(5, 10)])
        assert spool.stats().fsyncs == 6
    assert spool.stats().seals == 1
    assert read_all(tmp_path) == [record(i) for i in range(10)]


def test_deferred_appends_share_one_fsync_that_covers_every_segment_they_wrote(
    tmp_path: Path,
) -> None:
    """Group commit under ``always``: appends in ``deferring()`` wait for ``sync_deferred()``,
    one fsync for all of them, including a segment sealed in between."""
    with Spool(tmp_path, owner="a", fsync="always", segment_bytes=4096) as spool:
        with spool.deferring():
            for i in range(5):
                spool.append(record(i))
        assert spool.stats().fsyncs == 0
        spool.sync_deferred()
        assert spool.stats().fsyncs == 1
        spool.sync_deferred()  # nothing new: nothing to do
        assert spool.stats().fsyncs == 1
        with spool.deferring():
            spool.append(record(5))
        spool.seal()  # sealing fsyncs the segment first
        spool.sync_deferred()
        assert spool.stats().fsyncs == 2
        spool.append(record(6))  # outside the block: fsynced before it returns
        assert spool.stats().fsyncs == 3
    assert [r for r in read_all(tmp_path)] == [record(i) for i in range(7)]
