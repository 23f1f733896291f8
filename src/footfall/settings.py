"""One table of server settings. It feeds the CLI flags, their FOOTFALL_* environment variables,
docs/configuration.md (``footfall settings --markdown``) and the tests that keep them in step."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Setting:
    name: str  # attribute of Config; flag is --name-with-dashes; env is FOOTFALL_NAME
    type: type
    default: Any
    help: str
    multiple: bool = False  # repeatable flag; comma-separated in the environment

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def env(self) -> str:
        return "FOOTFALL_" + self.name.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting("host", str, "127.0.0.1", "Address to listen on."),
    Setting("port", int, 8000, "Port to listen on."),
    Setting(
        "workers",
        int,
        1,
        "HTTP processes sharing the port: this one (which also writes the store) and N-1"
        " collectors; a DuckDB file store only (docs/deployment.md).",
    ),
    Setting(
        "db",
        str,
        "footfall.duckdb",
        "Store location: a DuckDB file path (a backend URL such as NAME://… for registered backends).",
    ),
    Setting("store", str, "", "Store backend by name (today: duckdb); empty: chosen from --db."),
    Setting(
        "db_memory",
        str,
        "",
        "The most memory DuckDB may use, for caches and query working memory, e.g. 256MB or 2GB;"
        " empty: DuckDB's default (80 % of RAM).",
    ),
    Setting(
        "db_memory_resting",
        str,
        "48MB",
        "DuckDB's memory limit at rest: its cache of the file and the ingest path stay within it;"
        " the query engine's reads (dashboard, Stats API, stats) and a statement that runs out"
        " of memory run with up to --db-memory meanwhile; empty: always --db-memory.",
    ),
    Setting(
        "db_temp",
        str,
        "",
        "Directory where DuckDB spills work that exceeds its memory limit; created at start."
        " Empty: the database file's path plus .tmp (never the working directory).",
    ),
    Setting(
        "store_full_ip",
        bool,
        False,
        "Store client addresses whole instead of zeroing the last IPv4 octet / last 80 IPv6 bits.",
    ),
    Setting(
        "trusted_proxies",
        str,
        (),
        "Proxy addresses or CIDR ranges whose X-Forwarded-For/-Proto headers are believed.",
        multiple=True,
    ),
    Setting("visitor_cookie", str, "_utma", "Name of the long-lived visitor cookie."),
    Setting("session_cookie", str, "_utmb", "Name of the 30-minute sliding session cookie."),
    Setting("visitor_days", int, 730, "Lifetime of the visitor cookie in days."),
    Setting("session_minutes", int, 30, "Minutes without a hit after which a session ends."),
    Setting(
        "spool_dir",
        str,
        "",
        "Directory where hits are kept, on local disk, from their acknowledgement until the store"
        " has them; created at start. Empty: the database file's path plus .spool.",
    ),
    Setting(
        "spool_max",
        str,
        "4GB",
        "Most the spool may hold while the store is down or slow, e.g. 500MB or 4GB; beyond it"
        " hits are refused (spool-full: 503 on the JSON and Measurement Protocol endpoints).",
    ),
    Setting(
        "spool_fsync",
        str,
        "interval",
        "When spooled hits are forced to the disk: none (they survive a crash of footfall, not of"
        " the machine), interval (every 100 ms: a power loss loses at most that), always (before"
        " each acknowledgement).",
    ),
    Setting(
        "flush_interval",
        float,
        1.0,
        "Longest time in seconds a hit waits in the spool before it is written to the store.",
    ),
    Setting(
        "rollup_batch",
        int,
        50_000,
        "Written hits that are folded into the rollups together (at most this many a fold).",
    ),
    Setting(
        "rollup_wait",
        float,
        10.0,
        "Longest time in seconds written hits wait to be folded into the rollups (a query"
        " folds what waits first, so answers never lag).",
    ),
    Setting("max_body", int, 65_536, "Largest accepted JSON body in bytes (413 beyond)."),
    Setting(
        "max_header_bytes",
        int,
        65_536,
        "Largest request head in bytes, request target excepted (431 and the connection closed).",
    ),
    Setting(
        "max_header_line",
        int,
        8_192,
        "Longest single request header line in bytes (431 and the connection closed).",
    ),
    Setting("max_headers", int, 100, "Most header lines a request may carry (431 beyond)."),
    Setting(
        "header_timeout",
        float,
        15.0,
        "Seconds a connection may take to send a whole request head; closed (408) after.",
    ),
    Setting(
        "max_connections",
        int,
        1_000,
        "Most open client connections; one more is answered 503 and closed.",
    ),
    Setting(
        "upkeep_interval",
        float,
        60.0,
        "Seconds between background upkeep runs (rollup compaction, retention); 0: never.",
    ),
    Setting("geoip_db", str, "", "Optional MaxMind .mmdb file for region and city."),
    Setting("log_level", str, "info", "Log level: debug, info, warning, error."),
)

SETTINGS_BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}


def _default(name: str) -> Any:
    return SETTINGS_BY_NAME[name].default


@dataclass(frozen=True, slots=True)
class Config:
    """The settings of one server, each defaulting to its row of SETTINGS."""

    host: str = _default("host")
    port: int = _default("port")
    workers: int = _default("workers")
    db: str = _default("db")
    store: str = _default("store")
    db_memory: str = _default("db_memory")
    db_memory_resting: str = _default("db_memory_resting")
    db_temp: str = _default("db_temp")
    store_full_ip: bool = _default("store_full_ip")
    trusted_proxies: tuple[str, ...] = _default("trusted_proxies")
    visitor_cookie: str = _default("visitor_cookie")
    session_cookie: str = _default("session_cookie")
    visitor_days: int = _default("visitor_days")
    session_minutes: int = _default("session_minutes")
    spool_dir: str = _default("spool_dir")
    spool_max: str = _default("spool_max")
    spool_fsync: str = _default("spool_fsync")
    flush_interval: float = _default("flush_interval")
    rollup_batch: int = _default("rollup_batch")
    rollup_wait: float = _default("rollup_wait")
    max_body: int = _default("max_body")
    max_header_bytes: int = _default("max_header_bytes")
    max_header_line: int = _default("max_header_line")
    max_headers: int = _default("max_headers")
    header_timeout: float = _default("header_timeout")
    max_connections: int = _default("max_connections")
    upkeep_interval: float = _default("upkeep_interval")
    geoip_db: str = _default("geoip_db")
    log_level: str = _default("log_level")

    def replace(self, **changes: Any) -> Config:
        return dataclasses.replace(self, **changes)


class SettingError(ValueError):
    """A setting's value footfall cannot use; the message names the flag."""


_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
_UNITS |= {"KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


def parse_size(text: str, flag: str) -> int:
    """``"500MB"``, ``"4GB"``, ``"2GiB"`` or plain bytes, as bytes."""
    number = text.strip().upper().rstrip("BIKMGT")
    unit = text.strip().upper()[len(number) :]
    try:
        value = float(number) * _UNITS[unit.strip()]
    except (KeyError, ValueError):
        raise SettingError(f"{flag}: {text!r} is not a size such as 500MB or 4GB") from None
    if value <= 0:
        raise SettingError(f"{flag}: must be more than 0")
    return int(value)


def markdown_table() -> str:
    """The settings as a Markdown table, for docs/configuration.md."""
    lines = ["| flag | environment | default | meaning |", "| --- | --- | --- | --- |"]
    for s in SETTINGS:
        default = ",".join(s.default) if s.multiple else s.default
        if s.type is bool:
            default = "off" if not s.default else "on"
        lines.append(f"| `{s.flag}` | `{s.env}` | `{default}` | {s.help} |")
    return "\n".join(lines) + "\n"
