"""Login throttling that cannot be turned into locking someone else out (OWASP's "Blocking
Brute Force Attacks" and the Authentication Cheat Sheet): failed attempts are counted in sliding
windows per (account, address), per address, and per account over all addresses.

- **(account, address):** 5 failures a minute, then that address waits for that account. Guessing
  the owner's password from one address never stops the owner logging in from another.
- **address:** 20 failures a minute over any accounts (password spraying), then that address waits.
- **account, all addresses together (the global cap):** 100 failures in 15 minutes (guessing from
  many addresses: at most ~9,600 guesses a day). Then only addresses that logged in to the account
  successfully in the last 30 days may still try: its owner from a usual place still can.

A right password after the limit waits too (otherwise the limit tells the guesser when they are
right). Counts live in the process's memory (each ``--workers`` process counts its own; a restart
forgets them) and are bounded: beyond ``MAX_KEYS`` keys the oldest are forgotten.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from dataclasses import dataclass

from footfall.clock import Clock

MAX_KEYS = 100_000  # memory bound: beyond it the oldest keys are forgotten
KNOWN_ADDRESSES = 16  # remembered per account
KNOWN_FOR_MS = 30 * 86_400_000


@dataclass(frozen=True, slots=True)
class Limit:
    failures: int
    window_s: int


@dataclass(frozen=True, slots=True)
class LoginLimits:
    per_account_address: Limit = Limit(5, 60)
    per_address: Limit = Limit(20, 60)
    per_account: Limit = Limit(100, 900)  # the global cap; known addresses are let through


class Throttle:
    """Failures per key in sliding windows: a key is held once it has ``limit.failures`` failures
    within the last ``limit.window_s`` seconds."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._failures: dict[str, deque[int]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, limit: Limit, now: int) -> deque[int]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - limit.window_s * 1000:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def wait_seconds(self, checks: list[tuple[str, Limit]]) -> int:
        """0 when every key may try again now, else the seconds until all of them may."""
        now = self.clock.now_ms()
        wait = 0
        with self._lock:
            for key, limit in checks:
                times = self._recent(key, limit, now)
                if len(times) >= limit.failures:
                    # the oldest failure that keeps the key at its limit must leave the window
                    oldest = times[len(times) - limit.failures]
                    wait = max(wait, -(-(oldest + limit.window_s * 1000 - now) // 1000))
        return wait

    def fail(self, checks: list[tuple[str, Limit]]) -> None:
        now = self.clock.now_ms()
        with self._lock:
            for key, limit in checks:
                self._failures.setdefault(key, deque(maxlen=limit.failures)).append(now)
            while len(self._failures) > MAX_KEYS:
                del self._failures[next(iter(self._failures))]

    def reset(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)


class LoginThrottle:
    """The three limits of the module docstring over one :class:`Throttle`."""

    def __init__(self, clock: Clock, limits: LoginLimits | None = None) -> None:
        self.clock = clock
        self.limits = limits or LoginLimits()
        self.throttle = Throttle(clock)
        self._known: OrderedDict[str, dict[str, int]] = OrderedDict()  # account -> address -> ms
        self._lock = threading.Lock()

    def _checks(self, account: str, address: str) -> list[tuple[str, Limit]]:
        checks = [
            (f"pair:{account}\n{address}", self.limits.per_account_address),
            (f"address:{address}", self.limits.per_address),
        ]
        if not self._is_known(account, address):
            checks.append((f"account:{account}", self.limits.per_account))
        return checks

    def _is_known(self, account: str, address: str) -> bool:
        with self._lock:
            when = self._known.get(account, {}).get(address)
        return when is not None and when > self.clock.now_ms() - KNOWN_FOR_MS

    def wait_seconds(self, account: str, address: str) -> int:
        return self.throttle.wait_seconds(self._checks(account, address))

    def failed(self, account: str, address: str) -> None:
        checks = self._checks(account, address)
        if len(checks) == 2:  # a known address still counts toward the account's cap
            checks.append((f"account:{account}", self.limits.per_account))
        self.throttle.fail(checks)

    def succeeded(self, account: str, address: str) -> None:
        """A right password (and code): the pair starts afresh and the address becomes known."""
        self.throttle.reset(f"pair:{account}\n{address}")
        with self._lock:
            addresses = self._known.pop(account, {})
            addresses.pop(address, None)
            addresses[address] = self.clock.now_ms()
            while len(addresses) > KNOWN_ADDRESSES:
                del addresses[next(iter(addresses))]
            self._known[account] = addresses
            while len(self._known) > MAX_KEYS:
                self._known.popitem(last=False)
