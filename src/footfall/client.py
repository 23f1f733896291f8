"""A Python client that records server-side hits without slowing the caller down.

    tracker = Tracker("https://stats.example", app="UA-12345-6")
    tracker.track_pageview("https://memegen.example/cat.png", ip=addr, user_agent=ua)

``track_pageview``/``track_event`` only put the hit in a bounded queue and return. A background
thread sends queued hits as Measurement Protocol v1 lines to ``POST /batch`` (at most 20 hits and
16 KB a request), keeps the connection open, retries with exponential backoff while the server is
unreachable or failing, and back-dates each hit by its time in the queue (``qt``). When the queue is
full new hits are dropped and counted in :attr:`Tracker.dropped`. At interpreter exit the queue is
flushed for a few seconds. Standard library only, so it can be vendored into any service.
"""

from __future__ import annotations

import atexit
import http.client
import json
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Mapping
from urllib.parse import urlencode, urlsplit

log = logging.getLogger("footfall.client")

MAX_HIT_BYTES = 8_192
MAX_BATCH_BYTES = 16_384
MAX_BATCH_HITS = 20
MAX_QUEUE_TIME_MS = 4 * 3_600_000  # the receiver refuses hits back-dated further
_CAPS = {"dl": 2048, "dr": 2048, "dt": 512, "ua": 512, "dp": 1024, "dh": 253, "ul": 35}


class _Item:
    __slots__ = ("enqueued", "fields")

    def __init__(self, fields: dict[str, str], enqueued: float) -> None:
        self.fields = fields
        self.enqueued = enqueued


class Tracker:
    """Queue hits for a footfall server and send them from a background thread."""

    def __init__(
        self,
        endpoint: str,
        app: str,
        *,
        api_secret: str | None = None,
        max_queue: int = 10_000,
        flush_interval: float = 0.5,
        timeout: float = 5.0,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        exit_timeout: float = 5.0,
        user_agent: str = "footfall-python-tracker/1",
    ) -> None:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"endpoint must be an http(s) URL, got {endpoint!r}")
        self.endpoint = endpoint.rstrip("/")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._path = parts.path.rstrip("/") + "/batch"
        self.app = app
        self.max_queue = max_queue
        self.flush_interval = flush_interval
        self.timeout = timeout
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.exit_timeout = exit_timeout
        self._headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": user_agent,
        }
        if api_secret:
            self._headers["Authorization"] = f"Bearer {api_secret}"
        self._queue: deque[_Item] = deque()
        self._cond = threading.Condition()
        self._busy = False  # a batch is being sent
        self._urgent = False  # flush() is waiting: send without waiting for a fuller batch
        self._stop = False
        self._conn: http.client.HTTPConnection | None = None
        self.sent = 0  # hits the server answered for
        self.dropped = 0  # hits lost: queue full, too large, or too old
        self.failures = 0  # failed send attempts (each retried)
        self._thread = threading.Thread(target=self._run, name="footfall-tracker", daemon=True)
        self._thread.start()
        atexit.register(self._at_exit)

    # -- what callers use -------------------------------------------------------------------
    def track_pageview(
        self,
        url: str | None = None,
        *,
        path: str | None = None,
        host: str | None = None,
        title: str | None = None,
        referrer: str | None = None,
        ip: str | None = None,
        user_agent: str | None = None,
        client_id: str | None = None,
        language: str | None = None,
        status: int | None = None,
    ) -> bool:
        """Queue a pageview; False when it was dropped because the queue is full."""
        return self._put(
            {"t": "pageview"},
            url=url,
            path=path,
            host=host,
            title=title,
            referrer=referrer,
            ip=ip,
            user_agent=user_agent,
            client_id=client_id,
            language=language,
            status=status,
        )

    def track_event(
        self,
        name: str,
        props: Mapping[str, str | int | float | bool] | None = None,
        *,
        url: str | None = None,
        path: str | None = None,
        host: str | None = None,
        referrer: str | None = None,
        ip: str | None = None,
        user_agent: str | None = None,
        client_id: str | None = None,
        status: int | None = None,
    ) -> bool:
        """Queue a custom event with optional properties; False when dropped."""
        fields = {"t": "event", "ea": name}
        if props:
            fields["ff_props"] = json.dumps(dict(props), separators=(",", ":"), default=str)
        return self._put(
            fields,
            url=url,
            path=path,
            host=host,
            referrer=referrer,
            ip=ip,
            user_agent=user_agent,
            client_id=client_id,
            status=status,
        )

    @property
    def pending(self) -> int:
        return len(self._queue)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued hit was sent; False if ``timeout`` seconds passed first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            self._urgent = True
            self._cond.notify_all()
            while self._queue or self._busy:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(0.05 if left is None else min(left, 0.05))
        return True

    def close(self, timeout: float | None = 5.0) -> bool:
        """Send what is queued (waiting at most ``timeout`` seconds), then stop the thread."""
        done = self.flush(timeout)
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._thread.join(self.timeout + 1)
        atexit.unregister(self._at_exit)
        if self._conn is not None:
            self._conn.close()
        if not done:
            log.warning("footfall tracker closed with %d hits unsent", len(self._queue))
        return done

    def __enter__(self) -> Tracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- queueing ---------------------------------------------------------------------------
    def _put(self, fields: dict[str, str], **values: object) -> bool:
        mp = {"v": "1", "tid": self.app, "ff_channel": "server", **fields}
        ip = str(values["ip"] or "")
        ua = str(values["user_agent"] or "")
        client_id = values["client_id"] or (f"{ip} {ua}" if ip else None)
        pairs = {
            "dl": values.get("url"),
            "dp": values.get("path"),
            "dh": values.get("host"),
            "dt": values.get("title"),
            "dr": values.get("referrer"),
            "uip": ip or None,
            "ua": ua or None,
            "ul": values.get("language"),
            "ff_status": values.get("status"),
        }
        for key, value in pairs.items():
            if value is not None and value != "":
                text = str(value)
                mp[key] = text[: _CAPS[key]] if key in _CAPS else text
        mp["cid"] = str(client_id)[:256] if client_id else _random_id()
        with self._cond:
            if len(self._queue) >= self.max_queue or self._stop:
                self.dropped += 1
                return False
            self._queue.append(_Item(mp, time.monotonic()))
            if len(self._queue) == 1 or len(self._queue) == MAX_BATCH_HITS:
                self._cond.notify_all()
        return True

    def _batch(self) -> tuple[int, bytes]:
        """The oldest queued hits that fit in one request: (how many, body). Drops unsendable ones."""
        now = time.monotonic()
        lines: list[bytes] = []
        size = 0
        with self._cond:
            i = 0
            while i < len(self._queue) and len(lines) < MAX_BATCH_HITS:
                item = self._queue[i]
                qt = int((now - item.enqueued) * 1000)
                line = urlencode({**item.fields, "qt": str(qt)}).encode()
                if qt > MAX_QUEUE_TIME_MS or len(line) > MAX_HIT_BYTES:
                    del self._queue[i]
                    self.dropped += 1
                    continue
                if size + len(line) + 1 > MAX_BATCH_BYTES:
                    break
                lines.append(line)
                size += len(line) + 1
                i += 1
            self._busy = bool(lines)
        return len(lines), b"\n".join(lines)

    # -- sending ----------------------------------------------------------------------------
    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            self._conn = cls(self._host, self._port, timeout=self.timeout)
        return self._conn

    def _post(self, body: bytes) -> int:
        """POST one batch; a kept-alive connection the server has meanwhile closed is reopened
        once at once (that is not a failure worth a backoff)."""
        for attempt in (1, 2):
            reused = self._conn is not None
            conn = self._connection()
            try:
                conn.request("POST", self._path, body=body, headers=self._headers)
                resp = conn.getresponse()
                resp.read()
                return resp.status
            except (OSError, http.client.HTTPException):
                conn.close()
                self._conn = None
                if not reused or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _wait_for_work(self) -> bool:
        """Block until a batch is due (full, old enough, or a flush asked); False when stopping."""
        with self._cond:
            while not self._stop:
                if self._queue:
                    age = time.monotonic() - self._queue[0].enqueued
                    if (
                        len(self._queue) >= MAX_BATCH_HITS
                        or self._urgent
                        or age >= self.flush_interval
                    ):
                        return True
                    self._cond.wait(self.flush_interval - age)
                else:
                    self._urgent = False
                    self._cond.wait()
            self._busy = False
            self._cond.notify_all()
            return False

    def _sleep(self, delay: float) -> None:
        """Back off for ``delay`` seconds, ignoring wake-ups from new hits; close() ends it."""
        until = time.monotonic() + delay
        with self._cond:
            while not self._stop and (left := until - time.monotonic()) > 0:
                self._cond.wait(left)

    def _run(self) -> None:
        attempt = 0
        while self._wait_for_work():
            count, body = self._batch()
            if not count:
                continue
            try:
                status = self._post(body)
            except (OSError, http.client.HTTPException) as exc:
                status, error = 0, str(exc)
            else:
                error = f"HTTP {status}"
            with self._cond:
                self._busy = False
                self._cond.notify_all()
                if 200 <= status < 300 or status in (400, 413):
                    # delivered, or refused for good (retrying the same bytes cannot help)
                    for _ in range(count):
                        self._queue.popleft()
                    if status < 300:
                        self.sent += count
                    else:
                        self.dropped += count
                    attempt = 0
                    continue
                self.failures += 1
            attempt += 1
            delay = min(self.max_backoff, self.backoff * 2 ** min(attempt - 1, 16))
            log.debug("footfall tracker: send failed (%s); retrying in %.2fs", error, delay)
            self._sleep(delay * random.uniform(0.8, 1.2))

    def _at_exit(self) -> None:
        self.close(self.exit_timeout)


def _random_id() -> str:
    return f"{random.getrandbits(31)}.{int(time.time())}"
