"""Reaching the optional C parsers (footfall._speedups) from tests.

Where the module is not built, tests of it are skipped, unless FOOTFALL_REQUIRE_SPEEDUPS=1 (CI sets
it) turns that into a failure, so a broken build cannot pass unnoticed.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

import pytest


def compiled(name: str) -> Any:
    """The C function ``name`` from footfall._speedups, or skip (fail in CI) when it is missing."""
    try:
        module = importlib.import_module("footfall._speedups")
    except ImportError:
        if os.environ.get("FOOTFALL_REQUIRE_SPEEDUPS") == "1":
            pytest.fail("footfall._speedups is not built (FOOTFALL_REQUIRE_SPEEDUPS=1)")
        pytest.skip("footfall._speedups is not built: the Python parsers are in use")
    return getattr(module, name)
