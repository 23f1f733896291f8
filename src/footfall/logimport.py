"""Replay web-server access logs (nginx/Apache ``combined`` or ``common``) as server-side hits.

Lines keep their own time, client address and user agent, go through the enrichment steps like any
hit, and are written to the store in Arrow batches (not through HTTP). Every line gets a
deterministic ``hit_id`` — a hash of the app and the raw line — and ids already stored are skipped,
so importing the same file twice adds nothing (and two byte-identical lines count once).
"""

from __future__ import annotations

import calendar
import gzip
import hashlib
import io
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from urllib.parse import unquote

import msgspec

from footfall.enrich.pipeline import Enricher
from footfall.model import App, Context, Hit
from footfall.schema import cap_text
from footfall.store.base import Store

_QUOTED = r'"([^"\\]*(?:\\.[^"\\]*)*)"'  # a quoted field; \" inside does not end it
FORMATS: dict[str, re.Pattern[bytes]] = {
    # 127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326 "ref" "ua"
    "combined": re.compile(
        (rf"(\S+) \S+ \S+ \[([^\]]+)\] {_QUOTED} (\d{{3}}) \S+ {_QUOTED} {_QUOTED}").encode()
    ),
    "common": re.compile((rf"(\S+) \S+ \S+ \[([^\]]+)\] {_QUOTED} (\d{{3}}) \S+").encode()),
}
STATIC_EXTENSIONS = frozenset(
    "css js mjs map ico png jpg jpeg gif webp avif svg bmp woff woff2 ttf otf eot txt xml json"
    " webmanifest".split()
)
BOT_MARKERS = (
    "bot", "crawl", "spider", "slurp", "curl/", "wget/", "python-requests", "python-urllib",
    "go-http-client", "headless", "monitor", "uptime", "feedfetcher", "scrapy", "httpclient",
)  # fmt: skip
_MONTHS = {m: i for i, m in enumerate(calendar.month_abbr) if m}


class BadLine(ValueError):
    pass


class Timestamps:
    """``10/Oct/2000:13:55:36 -0700`` → ms since the epoch, without strptime (minutes cached)."""

    def __init__(self) -> None:
        self._minutes: dict[bytes, int] = {}

    def __call__(self, text: bytes) -> int:
        key = text[:17] + text[20:]
        base = self._minutes.get(key)
        if base is None:
            base = self._minute(text)
            if len(self._minutes) > 100_000:
                self._minutes.clear()
            self._minutes[key] = base
        seconds = text[18:20]
        if not seconds.isdigit():
            raise BadLine("timestamp")
        return base + int(seconds) * 1000

    @staticmethod
    def _minute(text: bytes) -> int:
        if len(text) != 26 or text[2:3] != b"/" or text[11:12] != b":" or text[20:21] != b" ":
            raise BadLine("timestamp")
        zone = text[21:]
        if zone[:1] not in (b"+", b"-") or not zone[1:].isdigit():
            raise BadLine("timestamp")
        offset = (int(zone[1:3]) * 3600 + int(zone[3:5]) * 60) * (1 if zone[:1] == b"+" else -1)
        try:
            month = _MONTHS[text[3:6].decode("ascii")]
            day = calendar.timegm((int(text[7:11]), month, int(text[0:2]), 0, 0, 0))
            clock = int(text[12:14]) * 3600 + int(text[15:17]) * 60
        except (KeyError, ValueError, UnicodeDecodeError):
            raise BadLine("timestamp") from None
        return (day + clock - offset) * 1000


@dataclass
class Options:
    format: str = "combined"
    host: str = ""  # for the stored URL; default: the app's hostname
    methods: frozenset[str] = frozenset({"GET"})
    include_errors: bool = False  # keep 4xx/5xx responses
    static_extensions: frozenset[str] = STATIC_EXTENSIONS  # empty: keep static assets
    skip_bots: bool = True
    batch_size: int = 50_000


@dataclass
class Report:
    read: int = 0
    imported: int = 0
    unparsable: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    bytes_read: int = 0

    def lines(self) -> list[str]:
        out = [
            f"lines read   {self.read:>12,}",
            f"imported     {self.imported:>12,}",
            f"skipped      {sum(self.skipped.values()):>12,}",
        ]
        out += [f"  {reason:<12}{n:>12,}" for reason, n in self.skipped.most_common()]
        out.append(f"unparsable   {self.unparsable:>12,}")
        return out


_BOT_PATTERN = re.compile("|".join(re.escape(m) for m in BOT_MARKERS))


def looks_like_bot(user_agent: str) -> bool:
    """A plain substring check; the enrichment's bot detection, when present, is applied too."""
    return _BOT_PATTERN.search(user_agent.lower()) is not None


def open_log(path: str) -> io.BufferedIOBase:
    """A log file, gunzipped on the fly when it is gzip-compressed."""
    with open(path, "rb") as probe:
        magic = probe.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


class LogImporter:
    """Parses lines into hits and writes them in batches. One instance per app and run."""

    def __init__(
        self,
        store: Store,
        app: App,
        enricher: Enricher,
        options: Options | None = None,
        *,
        is_bot: Callable[[str], bool] = looks_like_bot,
        progress: Callable[[Report], None] | None = None,
        session_minutes: int = 30,
        write: Callable[[list[tuple[object, ...]]], int] | None = None,
    ) -> None:
        self.store = store
        self.app = app
        self.enricher = enricher
        self.options = options or Options()
        if self.options.format not in FORMATS:
            raise ValueError(f"unknown log format {self.options.format!r}")
        self.pattern = FORMATS[self.options.format]
        self.is_bot = is_bot
        self.progress = progress
        # writes a batch: the store's insert, or the rollup feed's (the rollups follow imports too)
        self._write = write or store.append_hits
        self.report = Report()
        self.timestamps = Timestamps()
        self._sessions: dict[str, tuple[str, int]] = {}  # visitor -> (session id, last seen)
        self.session_ms = session_minutes * 60_000
        self._key = (app.api_secret or app.id).encode()[:64]
        self._prefix = app.id.encode() + b"\x00"
        host = (self.options.host or app.hostname or "localhost").lower()
        self._origin = ("http://" if host.startswith(("localhost", "127.")) else "https://") + host
        self._host = host
        self._batch: list[Hit] = []
        self._methods = {m.encode("latin-1") for m in self.options.methods}
        self._bots: dict[str, bool] = {}
        self._writer: threading.Thread | None = None
        self._failure: BaseException | None = None

    # -- one line ---------------------------------------------------------------------------
    def parse(self, raw: bytes) -> Hit | str:
        """A Hit, or the reason the line is skipped ('unparsable' for lines that are not a log)."""
        m = self.pattern.match(raw)
        if m is None:
            return "unparsable"
        groups = m.groups()
        request = groups[2].split(b" ")
        if len(request) != 3 or not request[1].startswith(b"/"):
            return "unparsable"
        try:
            ts = self.timestamps(groups[1])
        except BadLine:
            return "unparsable"
        opts = self.options
        if request[0] not in self._methods:
            return "method"
        status = int(groups[3])
        if status >= 400 and not opts.include_errors:
            return "status"
        if 300 <= status < 400 and status != 304:
            return "redirect"
        raw_path = request[1].partition(b"?")[0]
        if opts.static_extensions:
            tail = raw_path.rpartition(b"/")[2]
            if (
                b"." in tail
                and tail.rpartition(b".")[2].decode("latin-1").lower() in opts.static_extensions
            ):
                return "static"
        target = request[1].decode("utf-8", "replace")
        path = target.partition("?")[0]
        ua = referrer = ""
        if len(groups) > 4:
            referrer = groups[4].decode("utf-8", "replace")
            ua = groups[5].decode("utf-8", "replace")
        if ua == "-":
            ua = ""
        if opts.skip_bots and ua:
            bot = self._bots.get(ua)
            if bot is None:  # logs repeat a few hundred user agents: decide each once
                if len(self._bots) > 50_000:
                    self._bots.clear()
                bot = self._bots[ua] = self.is_bot(ua)
            if bot:
                return "bot"
        ip = groups[0].decode("latin-1")
        visitor = hashlib.blake2b(
            b"%s%s\x00%s\x00%s" % (self._prefix, groups[1][:11], groups[0], groups[-1]),
            key=self._key,
            digest_size=16,
        ).hexdigest()
        hit = Hit(
            hit_id=hashlib.blake2b(self._prefix + raw, digest_size=16).hexdigest(),
            app_id=self.app.id,
            ts=ts,
            channel="log",
            visitor_id=visitor,
            session_id=self._session(visitor, ts),
            identity="cookieless",
            url=cap_text("url", self._origin + target),
            hostname=self._host,
            path=cap_text("path", unquote(path)),
            referrer=cap_text("referrer", referrer) if referrer not in ("", "-") else None,
            user_agent=cap_text("user_agent", ua) or None,
            status=status,
        )
        reason = self.enricher(hit, Context(ip=ip, user_agent=ua), self.app)
        if reason is not None:
            return reason
        # the enrichment's own bot detection; a log without user agents (common format) is not all bots
        if opts.skip_bots and ua and hit.bot:
            return "bot"
        return hit

    def _session(self, visitor: str, ts: int) -> str:
        """Sessions end after a quiet period, in the log's own time. Ids derive from the visitor and
        the session's first hit, so a re-import computes the same ones."""
        entry = self._sessions.get(visitor)
        if entry is None or abs(ts - entry[1]) > self.session_ms:
            sid = hashlib.blake2b(b"%s\x00%d" % (visitor.encode(), ts), digest_size=16).hexdigest()
            entry = (sid, ts)
            if len(self._sessions) >= 1_000_000:
                self._sessions = {
                    k: v for k, v in self._sessions.items() if ts - v[1] <= self.session_ms
                }
        self._sessions[visitor] = (entry[0], max(ts, entry[1]))
        return entry[0]

    # -- many lines -------------------------------------------------------------------------
    def feed(self, lines: Iterable[bytes]) -> None:
        report = self.report
        for raw in lines:
            report.read += 1
            report.bytes_read += len(raw)
            result = self.parse(raw.rstrip(b"\r\n"))
            if isinstance(result, str):
                if result == "unparsable":
                    report.unparsable += 1
                else:
                    report.skipped[result] += 1
                continue
            self._batch.append(result)
            if len(self._batch) >= self.options.batch_size:
                self._hand_over()

    def _hand_over(self) -> None:
        """Give the pending batch to the writer thread (after the previous one finished), so
        storing one batch overlaps with parsing the next; batches are stored in order."""
        batch, self._batch = self._batch, []
        self._join()
        if batch:
            self._writer = threading.Thread(
                target=self._store_batch, args=(batch,), name="footfall-log-writer"
            )
            self._writer.start()

    def _join(self) -> None:
        if self._writer is not None:
            self._writer.join()
            self._writer = None
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure

    def _store_batch(self, batch: list[Hit]) -> None:
        try:
            self._store(batch)
        except BaseException as exc:  # re-raised in the importing thread
            self._failure = exc

    def _store(self, batch: list[Hit]) -> None:
        """Store a batch, leaving out hits already stored (or repeated within it)."""
        unique: dict[str, Hit] = {}
        for hit in batch:
            unique.setdefault(hit.hit_id or "", hit)
        stored = self.store.existing_hit_ids(
            self.app.id, list(unique), min(h.ts for h in batch), max(h.ts for h in batch)
        )
        fresh = [h for hid, h in unique.items() if hid not in stored]
        duplicates = len(batch) - len(fresh)
        if duplicates:
            self.report.skipped["duplicate"] += duplicates
        if fresh:
            self._write([msgspec.structs.astuple(hit) for hit in fresh])
            self.report.imported += len(fresh)
        if self.progress is not None:
            self.progress(self.report)

    def write(self) -> None:
        """Store everything parsed so far and wait until it is written."""
        self._hand_over()
        self._join()

    def run(self, lines: Iterable[bytes]) -> Report:
        self.feed(lines)
        self.write()
        return self.report


def chunked(lines: Iterable[bytes], every: int, tick: Callable[[], None]) -> Iterator[bytes]:
    """Pass lines through, calling ``tick`` every ``every`` lines (for a progress display)."""
    for n, line in enumerate(lines, 1):
        yield line
        if n % every == 0:
            tick()
