"""The ``footfall`` command's entry point: allocator settings first, then the CLI (which loads
DuckDB and Arrow). See :mod:`footfall.allocators`."""

from __future__ import annotations

import os

from footfall import allocators


def main() -> None:
    allocators.configure(os.environ)
    from footfall.cli import main as cli

    cli()
