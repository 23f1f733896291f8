"""A small fixed data set with answers worked out by hand (see the comments), shared by the query tests.

App "berlin" keeps Europe/Berlin time (UTC+1 in January); app "other" is UTC and must never leak in.
Times below are local Berlin times. The clock stands at 2026-01-10 13:00 Berlin (12:00 UTC).

session  visitor  hits (local time, event, path)                         first-hit attributes
s7       v5       01-08 15:00 pv /                                       direct, Firefox/Linux, NL
s8       v6       01-09 00:30 pv /blog/two  (UTC: still 01-08)           Bing, Edge/Windows, GB
s1       v1       01-09 10:00 pv /, 10:01 pv /blog/one, 10:02:30 pv /blog/two   Google, Chrome/Windows, DE
s2       v2       01-09 11:00 pv /blog/one                               direct, Firefox/Linux, FR
s6       b1       01-09 12:00 pv /, 12:00:05 pv /blog/one  — Googlebot   (bot)
s3       v1       01-09 23:50 pv /pricing, 01-10 00:10 signup /pricing (plan=pro)  Hacker News, Chrome, DE
s4       v3       01-10 09:00 pv /blog/one, 09:00:40 pv /docs/a/b        Google, Safari/iOS mobile, US
s5       v4       01-10 10:00 pv /                                       Google, Safari/iOS mobile, US
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa

from footfall.clock import FrozenClock
from footfall.hit_tables import ARROW_SCHEMA, hits_to_table
from footfall.model import App, Hit
from footfall.store.duckdb import DuckDBStore
from footfall.store.rollups import RollupFeed, Rollups

BERLIN = ZoneInfo("Europe/Berlin")
NOW_MS = 1_768_046_400_000  # 2026-01-10T12:00:00Z
APP_ID = "11111111-1111-4111-8111-111111111111"
OTHER_ID = "22222222-2222-4222-8222-222222222222"

CHROME_DE = {
    "browser": "Chrome",
    "browser_version": "131",
    "os": "Windows",
    "os_version": "10",
    "device": "desktop",
    "country": "DE",
    "language": "de-DE",
    "screen": "1920x1080",
    "pixel_ratio": 1.0,
}
FIREFOX = {"browser": "Firefox", "os": "Linux", "device": "desktop", "screen": "1440x900"}
SAFARI_US = {
    "browser": "Safari",
    "os": "iOS",
    "device": "mobile",
    "country": "US",
    "language": "en-US",
    "screen": "390x844",
    "pixel_ratio": 3.0,
}
EDGE_GB = {"browser": "Edge", "os": "Windows", "device": "desktop", "country": "GB"}


def at(local: str) -> int:
    """A Berlin wall-clock time (``2026-01-09 10:00[:30]``) as epoch milliseconds."""
    fmt = "%Y-%m-%d %H:%M:%S" if local.count(":") == 2 else "%Y-%m-%d %H:%M"
    return int(datetime.strptime(local, fmt).replace(tzinfo=BERLIN).timestamp() * 1000)


def session(
    sid: str,
    visitor: str,
    hits: list[tuple[str, str, str]],
    first: dict[str, object],
    every: dict[str, object],
    app_id: str = APP_ID,
    props: dict[str, str] | None = None,
) -> list[Hit]:
    """Hits of one session: ``first`` attributes only on its first hit (as referrer-derived fields
    are), ``every`` on all of them (browser, country …)."""
    out = []
    for n, (when, event, path) in enumerate(hits):
        fields = {**every, **(first if n == 0 else {})}
        out.append(
            Hit(
                hit_id=f"{sid}-{n}",
                app_id=app_id,
                ts=at(when),
                event=event,
                visitor_id=visitor,
                session_id=sid,
                identity="cookie",
                hostname="site.example",
                path=path,
                props=props if event != "pageview" else None,
                **fields,  # type: ignore[arg-type]
            )
        )
    return out


def hits() -> list[Hit]:
    google = {"source": "Google", "referrer": "https://www.google.com/", "medium": "search"}
    return [
        *session(
            "s7",
            "v5",
            [("2026-01-08 15:00", "pageview", "/")],
            {"medium": "direct"},
            {**FIREFOX, "country": "NL"},
        ),
        *session(
            "s8",
            "v6",
            [("2026-01-09 00:30", "pageview", "/blog/two")],
            {"source": "Bing", "referrer": "https://www.bing.com/", "medium": "search"},
            EDGE_GB,
        ),
        *session(
            "s1",
            "v1",
            [
                ("2026-01-09 10:00", "pageview", "/"),
                ("2026-01-09 10:01", "pageview", "/blog/one"),
                ("2026-01-09 10:02:30", "pageview", "/blog/two"),
            ],
            {**google, "utm_campaign": "winter"},
            CHROME_DE,
        ),
        *session(
            "s2",
            "v2",
            [("2026-01-09 11:00", "pageview", "/blog/one")],
            {"medium": "direct"},
            {**FIREFOX, "country": "FR"},
        ),
        *session(
            "s6",
            "b1",
            [
                ("2026-01-09 12:00", "pageview", "/"),
                ("2026-01-09 12:00:05", "pageview", "/blog/one"),
            ],
            {},
            {"bot": "Googlebot", "device": "bot", "country": "US"},
        ),
        *session(
            "s3",
            "v1",
            [
                ("2026-01-09 23:50", "pageview", "/pricing"),
                ("2026-01-10 00:10", "signup", "/pricing"),
            ],
            {
                "source": "Hacker News",
                "referrer": "https://news.ycombinator.com/",
                "medium": "social",
            },
            CHROME_DE,
            props={"plan": "pro"},
        ),
        *session(
            "s4",
            "v3",
            [
                ("2026-01-10 09:00", "pageview", "/blog/one"),
                ("2026-01-10 09:00:40", "pageview", "/docs/a/b"),
            ],
            google,
            SAFARI_US,
        ),
        *session("s5", "v4", [("2026-01-10 10:00", "pageview", "/")], google, SAFARI_US),
        # another app, same day: must never show up in the first app's numbers
        *session(
            "s9", "v9", [("2026-01-09 10:00", "pageview", "/")], google, CHROME_DE, app_id=OTHER_ID
        ),
    ]


def load(path: Path, *, stored: bool = True) -> tuple[DuckDBStore, App, App]:
    """A DuckDB file holding the two apps and every hit above (``stored=False``: no hits)."""
    store = DuckDBStore(str(path))
    berlin = App(id=APP_ID, name="berlin", url="https://site.example", timezone="Europe/Berlin")
    other = App(id=OTHER_ID, name="other", url="https://other.example")
    store.create_app(berlin)
    store.create_app(other)
    if stored:
        store.insert_events(hits_to_table(hits()))
    return store, berlin, other


def fold_in(rollups: Rollups, written: list[Hit] | pa.Table) -> None:
    """Write hits as the server does (a numbered write of the rollup feed) and fold them in."""
    feed = RollupFeed(rollups, FrozenClock(NOW_MS), max_rows=10**9)
    table = written if isinstance(written, pa.Table) else hits_to_table(written)
    feed.write_table(table)
    feed.fold()


def one_hit_sessions(app_id: str, count: int, end_ms: int) -> pa.Table:
    """``count`` pageviews in the hour before ``end_ms``, each its own visitor, session and page:
    cheap to make, costly to group (for tests of what happens when a query runs out of memory)."""
    columns = {field.name: pa.nulls(count, field.type) for field in ARROW_SCHEMA}

    def column(name: str, values: list[Any]) -> None:
        columns[name] = pa.array(values).cast(ARROW_SCHEMA.field(name).type)

    column("app_id", [app_id] * count)
    column("ts", [end_ms - 3_600_000 + i * 3_600_000 // count for i in range(count)])
    column("event", ["pageview"] * count)
    column("path", [f"/page/{i}" for i in range(count)])
    column("visitor_id", [f"visitor-{i}" for i in range(count)])
    column("session_id", [f"session-{i}" for i in range(count)])
    return pa.table(columns, schema=ARROW_SCHEMA)
