"""`make run`'s set-up never invents a password: without a terminal it says how to create a user."""

from __future__ import annotations

from pathlib import Path

import pytest

from footfall.cli.server import first_user
from footfall.clock import FrozenClock
from footfall.dashboard.accounts import Accounts
from footfall.runtime import Runtime
from footfall.settings import Config
from tests.dashboard.conftest import CHEAP_ARGON2
from tests.dashboard.helpers import PASSWORD


def test_without_a_terminal_quickstart_prints_the_command_and_creates_no_user(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runtime = Runtime.build(Config(db=str(db_path)), clock=FrozenClock())
    try:
        first_user(runtime, str(db_path))
        assert runtime.store.list_users() == []
        out = capsys.readouterr().out
        assert f"footfall users create you@example.com --db {db_path}" in out
        Accounts(runtime.store, runtime.clock, CHEAP_ARGON2).create_user("o@example.com", PASSWORD)
        first_user(runtime, str(db_path))  # with a user: nothing to say
        assert capsys.readouterr().out == ""
    finally:
        runtime.close()
