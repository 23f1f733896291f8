"""The login throttle (footfall.dashboard.throttle): nobody can lock the owner out.

A server behind a trusted proxy on 127.0.0.1, so each client chooses its address with
``X-Forwarded-For``; the clock is frozen and moved by hand."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from footfall.clock import FrozenClock
from footfall.dashboard.accounts import Accounts
from footfall.dashboard.site import DashboardOptions
from footfall.model import User
from tests.dashboard.conftest import CHEAP_ARGON2
from tests.dashboard.helpers import PASSWORD, log_in
from tests.live import LiveServer, live_server

WRONG = "guess guess guess"


@pytest.fixture
def server(db_path: Path, clock: FrozenClock) -> Iterator[LiveServer]:
    options = DashboardOptions(password_hasher=CHEAP_ARGON2)
    with live_server(
        db_path, clock=clock, trusted_proxies=("127.0.0.1",), dashboard=options
    ) as srv:
        yield srv


@pytest.fixture
def owner(server: LiveServer) -> User:
    return Accounts(server.store, server.clock, CHEAP_ARGON2).create_user(
        "owner@example.com", PASSWORD, role="owner"
    )


@pytest.fixture
def from_address(server: LiveServer) -> Iterator[Callable[[str], httpx.Client]]:
    clients: list[httpx.Client] = []

    def make(address: str) -> httpx.Client:
        client = httpx.Client(base_url=server.url, timeout=10, headers={"X-Forwarded-For": address})
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def test_five_bad_passwords_a_minute_hold_that_address_for_that_account_only(
    owner: User, clock: FrozenClock, from_address: Callable[[str], httpx.Client]
) -> None:
    attacker, owner_elsewhere = from_address("198.51.100.7"), from_address("203.0.113.1")
    for _ in range(5):
        assert log_in(attacker, owner.email, WRONG).status_code == 401
    held = log_in(attacker, owner.email)  # even the right password waits
    assert held.status_code == 429 and "Too many attempts" in held.text
    assert int(held.headers["retry-after"]) == 60
    assert "footfall" not in attacker.cookies
    assert log_in(owner_elsewhere, owner.email).status_code == 303  # the owner is not locked out
    clock.advance(seconds=30)
    assert int(log_in(attacker, owner.email).headers["retry-after"]) == 30
    clock.advance(seconds=31)
    assert log_in(attacker, owner.email).status_code == 303


def test_twenty_bad_logins_a_minute_from_one_address_hold_that_address_for_every_account(
    owner: User, clock: FrozenClock, from_address: Callable[[str], httpx.Client]
) -> None:
    sprayer, other = from_address("198.51.100.8"), from_address("203.0.113.2")
    for n in range(20):
        assert log_in(sprayer, f"guess{n % 4}@example.com", WRONG).status_code == 401
    assert log_in(sprayer, owner.email).status_code == 429  # an account it never tried
    assert log_in(other, owner.email).status_code == 303
    clock.advance(seconds=61)
    assert log_in(sprayer, owner.email).status_code == 303


def test_a_hundred_bad_passwords_in_15_minutes_from_anywhere_let_only_known_addresses_in(
    owner: User, clock: FrozenClock, from_address: Callable[[str], httpx.Client]
) -> None:
    usual = from_address("203.0.113.3")
    assert log_in(usual, owner.email).status_code == 303  # the owner's usual place: known now
    for n in range(100):  # one guess from each of 100 addresses: under the other limits
        with_one = from_address(f"198.51.{100 + n // 200}.{n % 200 + 1}")
        assert log_in(with_one, owner.email, WRONG).status_code == 401
        with_one.close()
    new_place = from_address("192.0.2.50")
    held = log_in(new_place, owner.email)
    assert held.status_code == 429 and int(held.headers["retry-after"]) == 900
    usual.cookies.clear()
    assert log_in(usual, owner.email).status_code == 303  # the owner still gets in
    other_account = from_address("192.0.2.51")  # other accounts are not held
    assert log_in(other_account, "someone@example.com", WRONG).status_code == 401
    clock.advance(minutes=15, seconds=1)
    assert log_in(new_place, owner.email).status_code == 303


def test_a_right_password_starts_the_pair_afresh(
    owner: User, clock: FrozenClock, from_address: Callable[[str], httpx.Client]
) -> None:
    me = from_address("203.0.113.4")
    for _ in range(4):
        assert log_in(me, owner.email, WRONG).status_code == 401
    assert log_in(me, owner.email).status_code == 303
    for _ in range(4):
        assert log_in(me, owner.email, WRONG).status_code == 401
    assert log_in(me, owner.email).status_code == 303
