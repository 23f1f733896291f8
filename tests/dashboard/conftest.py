from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher

from footfall.clock import FrozenClock
from footfall.dashboard.accounts import Accounts
from footfall.dashboard.site import DashboardOptions
from footfall.model import App, User
from tests.dashboard.helpers import PASSWORD, log_in
from tests.live import LiveServer, live_server

# Real Argon2id with small costs, so each login takes milliseconds on a busy test machine; the
# production costs are argon2-cffi's defaults (checked in test_login.py).
CHEAP_ARGON2 = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
def server(db_path: Path, clock: FrozenClock) -> Iterator[LiveServer]:
    options = DashboardOptions(password_hasher=CHEAP_ARGON2)
    with live_server(db_path, clock=clock, dashboard=options) as srv:
        yield srv


@pytest.fixture
def accounts(server: LiveServer) -> Accounts:
    return Accounts(server.store, server.clock, CHEAP_ARGON2)


@pytest.fixture
def owner(accounts: Accounts) -> User:
    return accounts.create_user("owner@example.com", PASSWORD, role="owner")


@pytest.fixture
def owner_http(server: LiveServer, owner: User) -> Iterator[httpx.Client]:
    """A browser logged in as the owner."""
    with httpx.Client(base_url=server.url, timeout=10) as client:
        assert log_in(client, owner.email).status_code == 303
        yield client


@pytest.fixture
def viewer_of(accounts: Accounts):  # type: ignore[no-untyped-def]
    def make(*apps: App, email: str = "viewer@example.com") -> User:
        return accounts.create_user(email, PASSWORD, role="viewer", apps=[a.id for a in apps])

    return make
