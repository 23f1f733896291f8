"""Native memory allocators of the footfall process: settings that must be in place before DuckDB
and Arrow load, because each library reads them once, from the environment, at its first
allocation.

Measured with the ingest benchmark (docs/benchmarks.md, "Where the memory goes"): left at their
defaults, DuckDB's bundled jemalloc purges freed pages only when DuckDB allocates again, so after a
burst of hits an idle server stayed at ~490 MB, ~170 MB of it pages DuckDB had freed; Arrow's
mimalloc pool likewise keeps what it freed. With these settings the same server settles at
~280 MB and peaks ~30 MB lower, for ~5 % more CPU per hit (``dirty_decay_ms:0``, freeing at once,
cost ~20 %).

Only the ``footfall`` command applies them (:func:`footfall.entry.main`): a program that imports
footfall as a library keeps its own allocators. A variable already set, even to an empty string,
is left alone, so ``DUCKDB_JE_MALLOC_CONF= footfall serve`` runs with jemalloc's defaults.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys
from collections.abc import Callable, MutableMapping

# (variable, value, why): docs/deployment.md explains the same to operators
DEFAULTS: tuple[tuple[str, str, str], ...] = (
    (
        "DUCKDB_JE_MALLOC_CONF",
        "background_thread:true,dirty_decay_ms:250,muzzy_decay_ms:0",
        "DuckDB's jemalloc returns freed pages to the system within ~250 ms, from a thread of its"
        " own (by default it keeps them until DuckDB next allocates, however long that takes)",
    ),
    (
        "ARROW_DEFAULT_MEMORY_POOL",
        "system",
        "Arrow allocates with the C library's malloc instead of its own mimalloc pool",
    ),
)

# the libraries that read the variables: once one is loaded, setting its variable does nothing
_READERS = {"DUCKDB_JE_MALLOC_CONF": "duckdb", "ARROW_DEFAULT_MEMORY_POOL": "pyarrow"}


def configure(environ: MutableMapping[str, str]) -> dict[str, str]:
    """Set each allocator variable the user has not set; returns the ones set here. Does nothing
    for a library already imported (its allocator has read the environment)."""
    applied = {}
    for name, value, _ in DEFAULTS:
        if name in environ or _READERS[name] in sys.modules:
            continue
        environ[name] = value
        applied[name] = value
    return applied


def describe(environ: MutableMapping[str, str]) -> str:
    """One line for the startup log: the allocator settings this process runs with (Arrow's
    from the environment: the server itself never loads Arrow, only exports and imports do)."""
    jemalloc = environ.get("DUCKDB_JE_MALLOC_CONF", "") or "defaults"
    pool = environ.get("ARROW_DEFAULT_MEMORY_POOL", "") or "Arrow's default"
    return f"DuckDB jemalloc: {jemalloc}; Arrow memory pool (when loaded): {pool}"


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        trim = ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to call
        return None
    if trim is not None:
        trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


def release_free_memory() -> bool:
    """Hand the C heap's free pages back to the system (glibc's ``malloc_trim``); False where the
    C library has no such call.

    Python's larger objects (the buffer's lists of hits, dictionaries) and, in bulk paths, Arrow's
    column buffers (``ARROW_DEFAULT_MEMORY_POOL=system``) come from this heap, and glibc returns
    free space only from the heap's top: when the server still held folds' batches as Arrow
    tables, ~50 MB freed in the middle of the heap stayed resident after the load
    (docs/benchmarks.md). The server calls this after each fold; it takes a millisecond or two.
    """
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
