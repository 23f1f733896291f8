"""Cookieless identity: daily-salted hashes, salt rotation at UTC midnight, nothing on the device."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import msgspec
import pytest

from footfall.clock import FrozenClock
from footfall.identify.cookieless import DAY_MS, DailySalts
from footfall.model import App
from footfall.store.duckdb import DuckDBStore
from tests.enrich.agents import BROWSERS
from tests.live import LiveServer, live_server

CHROME = BROWSERS["chrome-windows"][0]
IPHONE = BROWSERS["safari-iphone"][0]
START = 1_767_225_600_000  # 2026-01-01T00:00:00Z


@pytest.fixture
def store(db_path: Path) -> Iterator[DuckDBStore]:
    s = DuckDBStore(str(db_path))
    yield s
    s.close()


def test_one_salt_per_utc_day_kept_in_the_store(store: DuckDBStore) -> None:
    clock = FrozenClock(START + 3_600_000)
    salts = DailySalts(store, clock)
    day = clock.now_ms() // DAY_MS
    today, yesterday = salts.for_day(day)
    assert len(today) == 32 and yesterday is None
    assert salts.for_day(day) == (today, None)
    assert DailySalts(store, clock).for_day(day) == (today, None)  # a restart keeps today's salt
    tomorrow, kept = salts.for_day(day + 1)
    assert kept == today and tomorrow != today
    assert sorted(store.load_salts(0)) == [day, day + 1]
    salts.for_day(day + 2)  # 48 hours after it was drawn, the first salt is destroyed
    assert sorted(store.load_salts(0)) == [day + 1, day + 2]
    salts.for_day(day + 5)  # after a quiet spell nothing older than yesterday survives
    assert sorted(store.load_salts(0)) == [day + 5]
    assert salts.for_day(day + 5)[1] is None


def cookieless_app(server: LiveServer, name: str = "Site") -> App:
    app = msgspec.structs.replace(server.create_app(name), identity="cookieless")
    server.runtime.apps.save(app)
    return app


def hit(
    client: httpx.Client, app: App, ip: str = "198.51.100.7", ua: str = CHROME
) -> httpx.Response:
    resp = client.get(
        f"/p.gif?app={app.id}&url={quote('https://site.example/')}",
        headers={"X-Forwarded-For": ip, "User-Agent": ua},
    )
    assert resp.status_code == 200 and "x-footfall-ignored" not in resp.headers
    return resp


def ids(server: LiveServer) -> list[tuple[str, str, str]]:
    return server.rows("SELECT visitor_id, session_id, identity FROM events ORDER BY rowid")


def test_no_cookie_is_set_or_read(proxied: LiveServer, client: httpx.Client) -> None:
    app = cookieless_app(proxied)
    resp = client.get(
        f"/p.gif?app={app.id}&path=/",
        headers={"Cookie": "_utma=7d3c5e2a-1111-4222-8333-444455556666", "User-Agent": CHROME},
    )
    assert "set-cookie" not in resp.headers
    [(visitor, session, identity)] = ids(proxied)
    assert identity == "cookieless"
    assert visitor != "7d3c5e2a-1111-4222-8333-444455556666" and len(visitor) == 32
    assert session


def test_ids_are_stable_within_a_day_and_differ_by_address_agent_and_app(
    proxied: LiveServer, client: httpx.Client, clock: FrozenClock
) -> None:
    app, other = cookieless_app(proxied), cookieless_app(proxied, "Other")
    clock.advance(hours=9)
    hit(client, app)
    clock.advance(minutes=10)
    hit(client, app)
    hit(client, app, ip="198.51.100.8")
    hit(client, app, ua=IPHONE)
    hit(client, other)
    rows = ids(proxied)
    assert rows[0][:2] == rows[1][:2]  # same visitor, same session
    assert len({r[0] for r in rows}) == 4


def test_sessions_end_after_30_quiet_minutes(
    proxied: LiveServer, client: httpx.Client, clock: FrozenClock
) -> None:
    app = cookieless_app(proxied)
    clock.advance(hours=9)
    hit(client, app)
    clock.advance(minutes=29)
    hit(client, app)
    clock.advance(minutes=31)
    hit(client, app)
    (v1, s1, _), (v2, s2, _), (v3, s3, _) = ids(proxied)
    assert v1 == v2 == v3
    assert s1 == s2 != s3


def test_a_new_day_brings_a_new_visitor_id(
    proxied: LiveServer, client: httpx.Client, clock: FrozenClock
) -> None:
    app = cookieless_app(proxied)
    clock.advance(hours=12)
    hit(client, app)
    clock.advance(days=1)
    hit(client, app)
    (v1, s1, _), (v2, s2, _) = ids(proxied)
    assert v1 != v2 and s1 != s2


def test_a_visit_crossing_midnight_keeps_its_ids(
    proxied: LiveServer, client: httpx.Client, clock: FrozenClock
) -> None:
    app = cookieless_app(proxied)
    clock.set(START + DAY_MS - 10 * 60_000)  # 23:50
    hit(client, app)
    clock.advance(minutes=15)  # 00:05 the next day, with a fresh salt
    hit(client, app)
    hit(client, app, ip="198.51.100.99")  # someone new after midnight: today's salt
    clock.advance(hours=2)  # the old visit has ended: today's id from now on
    hit(client, app)
    (v1, s1, _), (v2, s2, _), (v3, _, _), (v4, s4, _) = ids(proxied)
    assert (v1, s1) == (v2, s2)
    assert v3 != v1
    assert v4 != v1 and s4 != s1


def test_a_restart_keeps_the_same_days_ids(db_path: Path) -> None:
    clock = FrozenClock(START + 8 * 3_600_000)
    visitors = []
    for _ in range(2):
        with live_server(db_path, clock=clock) as srv:
            app = srv.runtime.apps.all()[0] if srv.runtime.apps.all() else cookieless_app(srv)
            with httpx.Client(base_url=srv.url, timeout=10) as c:
                c.get(f"/p.gif?app={app.id}&path=/", headers={"User-Agent": CHROME})
            visitors.append(
                srv.rows("SELECT visitor_id FROM events ORDER BY ts DESC LIMIT 1")[0][0]
            )
    assert visitors[0] == visitors[1]


def test_a_restart_in_the_middle_of_a_visit_continues_it(db_path: Path) -> None:
    clock = FrozenClock(START + 8 * 3_600_000)
    for minutes in (0, 10):
        clock.advance(minutes=minutes)
        with live_server(db_path, clock=clock) as srv:
            app = srv.runtime.apps.all()[0] if srv.runtime.apps.all() else cookieless_app(srv)
            with httpx.Client(base_url=srv.url, timeout=10) as c:
                hit(c, app)
            rows = ids(srv)
    assert len(rows) == 2 and rows[0][:2] == rows[1][:2]
