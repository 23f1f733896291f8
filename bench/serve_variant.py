"""`footfall serve` with one part swapped out, for ``bench/ingest.py --variant NAME``: the same run
then shows what that part earns. Reads the same FOOTFALL_* environment as `footfall serve`; never
used outside the benchmark.

    stock          uvicorn's own httptools protocol: no footfall protocol subclass, so no pixel
                   fast path and no head bounds (footfall on public interfaces only)
    dict-sessions  the session tracker's Python dict instead of the C table
    no-trim        no malloc_trim after rollup folds
"""

from __future__ import annotations

import sys
from typing import Any

import footfall.identify.sessions
import footfall.runtime
import footfall.server
from footfall.cli import main


def stock() -> None:
    config = footfall.server.uvicorn_config

    def stock_config(app: Any, cfg: Any, **overrides: Any) -> Any:
        return config(app, cfg, **{"http": "httptools", **overrides})

    footfall.server.uvicorn_config = stock_config  # type: ignore[assignment]


def dict_sessions() -> None:
    footfall.identify.sessions.new_table = footfall.identify.sessions.DictTable  # type: ignore[assignment]


def no_trim() -> None:
    footfall.runtime.allocators.release_free_memory = lambda: False  # type: ignore[assignment]


VARIANTS = {"stock": stock, "dict-sessions": dict_sessions, "no-trim": no_trim}

if __name__ == "__main__":
    VARIANTS[sys.argv[1]]()
    main(["serve"])
