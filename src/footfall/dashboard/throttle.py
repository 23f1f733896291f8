"""Login throttling: at most ``limit`` failed attempts per key (an IP, an account) in a sliding window."""

from __future__ import annotations

import threading
from collections import deque

from footfall.clock import Clock

MAX_KEYS = 100_000  # memory bound: beyond it the oldest keys are forgotten


class Throttle:
    def __init__(self, clock: Clock, *, limit: int = 5, window_ms: int = 60_000) -> None:
        self.clock = clock
        self.limit = limit
        self.window_ms = window_ms
        self._failures: dict[str, deque[int]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: int) -> deque[int]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window_ms:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def wait_seconds(self, *keys: str) -> int:
        """0 when every key may try again now, else the seconds until the first one may."""
        now = self.clock.now_ms()
        wait = 0
        with self._lock:
            for key in keys:
                times = self._recent(key, now)
                if len(times) >= self.limit:
                    wait = max(wait, -(-(times[0] + self.window_ms - now) // 1000))
        return wait

    def fail(self, *keys: str) -> None:
        now = self.clock.now_ms()
        with self._lock:
            for key in keys:
                self._failures.setdefault(key, deque(maxlen=self.limit)).append(now)
            while len(self._failures) > MAX_KEYS:
                del self._failures[next(iter(self._failures))]

    def reset(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)
