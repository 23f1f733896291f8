"""`footfall import-log`: real-looking nginx/Apache logs become hits with their own time, address
and user agent; bad lines are counted, never fatal; a second import adds nothing."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from footfall.cli import main
from footfall.logimport import BadLine, Timestamps
from footfall.store.duckdb import DuckDBStore

CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
LOG = f"""\
203.0.113.5 - - [21/Nov/2026:10:00:00 +0530] "GET /caf%C3%A9/men%C3%BC?lang=de HTTP/1.1" 200 5120 "https://www.google.com/" "{CHROME}"
203.0.113.5 - - [21/Nov/2026:10:00:02 +0530] "GET /static/app.css HTTP/1.1" 200 900 "https://site.example/" "{CHROME}"
198.51.100.9 - alice [20/Nov/2026:23:59:59 -0330] "GET /pricing HTTP/2.0" 304 0 "-" "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) \\"quoted\\" Safari/604.1"
66.249.66.1 - - [21/Nov/2026:04:31:00 +0000] "GET /pricing HTTP/1.1" 200 812 "-" "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
203.0.113.5 - - [21/Nov/2026:04:31:05 +0000] "GET /missing HTTP/1.1" 404 153 "-" "{CHROME}"
203.0.113.5 - - [21/Nov/2026:04:31:06 +0000] "GET /old HTTP/1.1" 301 0 "-" "{CHROME}"
203.0.113.5 - - [21/Nov/2026:04:31:07 +0000] "POST /api/login HTTP/1.1" 200 31 "-" "{CHROME}"
this is not a log line at all
203.0.113.5 - - [21/Nov/2026:04:31:09 +0000] "\\x16\\x03\\x01\\x02\\x00\\x01" 400 157 "-" "-"
2001:db8::7 - - [21/Nov/2026:04:32:00 +0000] "GET /docs/ HTTP/1.1" 200 2048 "https://site.example/pricing" "{CHROME}"
2001:db8::7 - - [21/Nov/2026:04:32:00 +0000] "GET /docs/ HTTP/1.1" 200 2048 "https://site.example/pricing" "{CHROME}"
192.0.2.44 - - [21/Nov/2026:04:33:00 +0000] "GET /docs/install HTTP/1.1" 200 2048 "https://site.ex"""


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "logs.duckdb")
    result = CliRunner().invoke(
        main, ["apps", "create", "Site", "--url", "site.example", "--db", path]
    )
    assert result.exit_code == 0, result.output
    return path


def import_log(db: str, *files: Path, extra: tuple[str, ...] = ()) -> str:
    result = CliRunner().invoke(
        main, ["import-log", *map(str, files), "--app", "Site", "--db", db, *extra]
    )
    assert result.exit_code == 0, result.output
    return result.output


def rows(db: str, sql: str) -> list[tuple[object, ...]]:
    store = DuckDBStore(db)
    try:
        return store.fetch(sql)
    finally:
        store.close()


def counts(output: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].replace(",", "").isdigit():
            out[parts[0]] = int(parts[1].replace(",", ""))
        elif len(parts) == 3 and parts[2].replace(",", "").isdigit():
            out[" ".join(parts[:2])] = int(parts[2].replace(",", ""))
    return out


def test_a_real_looking_log_is_imported_with_its_own_times_addresses_and_agents(
    db: str, tmp_path: Path
) -> None:
    log = tmp_path / "access.log"
    log.write_text(LOG)
    report = counts(import_log(db, log))
    assert report == {
        "lines read": 12,
        "imported": 3,
        "skipped": 6,
        "static": 1,
        "bot": 1,
        "status": 1,  # the 404
        "redirect": 1,
        "method": 1,
        "duplicate": 1,  # the byte-identical line
        # prose, TLS handshake bytes logged as a request line, and the line cut off in its referrer
        "unparsable": 3,
    }
    got = rows(
        db,
        "SELECT epoch_ms(ts), path, url, ip, user_agent, referrer, status, channel, identity"
        " FROM events ORDER BY ts",
    )
    ms = lambda *a: int(datetime(*a, tzinfo=UTC).timestamp() * 1000)  # noqa: E731
    assert got == [
        (ms(2026, 11, 21, 3, 29, 59), "/pricing", "https://site.example/pricing", "198.51.100.0",
         'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) \\"quoted\\" Safari/604.1', None,
         304, "log", "cookieless"),
        (ms(2026, 11, 21, 4, 30, 0), "/café/menü", "https://site.example/caf%C3%A9/men%C3%BC?lang=de",
         "203.0.113.0", CHROME, "https://www.google.com/", 200, "log", "cookieless"),
        (ms(2026, 11, 21, 4, 32, 0), "/docs/", "https://site.example/docs/", "2001:db8::", CHROME,
         "https://site.example/pricing", 200, "log", "cookieless"),
    ]  # fmt: skip
    assert rows(db, "SELECT count(DISTINCT visitor_id), count(DISTINCT hit_id) FROM events") == [
        (3, 3)
    ]


def test_importing_the_same_file_again_adds_nothing(db: str, tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text(LOG)
    import_log(db, log)
    before = rows(db, "SELECT hit_id, session_id FROM events ORDER BY hit_id")
    again = counts(import_log(db, log))
    assert again["imported"] == 0 and again["duplicate"] == 4
    assert rows(db, "SELECT hit_id, session_id FROM events ORDER BY hit_id") == before
    # a rotated, compressed copy with one new line appended adds just that line
    gz = tmp_path / "access.log.1.gz"
    extra = (
        f'192.0.2.8 - - [21/Nov/2026:05:00:00 +0000] "GET /new HTTP/1.1" 200 10 "-" "{CHROME}"\n'
    )
    gz.write_bytes(gzip.compress((LOG + "\n" + extra).encode()))
    assert counts(import_log(db, gz))["imported"] == 1
    assert rows(db, "SELECT count(*) FROM events") == [(4,)]


def test_options_keep_what_is_skipped_by_default(db: str, tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text(LOG)
    report = counts(
        import_log(
            db,
            log,
            extra=(
                "--include-static",
                "--include-bots",
                "--include-errors",
                "--method",
                "GET",
                "--method",
                "POST",
            ),
        )
    )
    assert report["imported"] == 7 and "static" not in report and "bot" not in report
    assert rows(
        db,
        "SELECT count(*) FILTER (status = 404), count(*) FILTER (path = '/api/login') FROM events",
    ) == [(1, 1)]


def test_common_format_and_progress_on_stderr(db: str, tmp_path: Path) -> None:
    log = tmp_path / "common.log"
    log.write_text(
        '127.0.0.1 - frank [10/Oct/2026:13:55:36 -0700] "GET /apache_pb.html HTTP/1.0" 200 2326\n'
    )
    result = CliRunner().invoke(
        main,
        ["import-log", str(log), "--app", "Site", "--db", db, "--format", "common", "--progress"],
    )
    assert result.exit_code == 0, result.output
    assert "lines/s" in result.stderr and "100%" in result.stderr
    assert rows(db, "SELECT path, user_agent, epoch_ms(ts) FROM events") == [
        (
            "/apache_pb.html",
            None,
            int(datetime(2026, 10, 10, 20, 55, 36, tzinfo=UTC).timestamp() * 1000),
        )
    ]


def test_clear_errors_for_a_missing_file_or_app(db: str, tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(
        main, ["import-log", str(tmp_path / "nope.log"), "--app", "Site", "--db", db]
    )
    assert missing.exit_code != 0 and "nope.log" in missing.output
    log = tmp_path / "a.log"
    log.write_text(LOG)
    no_app = runner.invoke(main, ["import-log", str(log), "--app", "Nobody", "--db", db])
    assert no_app.exit_code != 0 and "no app 'Nobody'" in no_app.output


@pytest.mark.parametrize(
    "text",
    [b"10/Oct/2026:13:55:36", b"10/Foo/2026:13:55:36 +0000", b"10/Oct/2026:13:55:xx +0000",
     b"10/Oct/2026:13:55:36 +05:30", b"xx/Oct/2026:13:55:36 +0000"],
)  # fmt: skip
def test_bad_timestamps_are_refused(text: bytes) -> None:
    with pytest.raises(BadLine):
        Timestamps()(text)


def test_imported_hits_reach_the_rollups(db: str, tmp_path: Path) -> None:
    from footfall.clock import FrozenClock
    from footfall.query import QueryEngine, QuerySpec

    log = tmp_path / "access.log"
    log.write_text(LOG)
    import_log(db, log)
    store = DuckDBStore(db)
    try:
        app = store.list_apps()[0]
        clock = FrozenClock(1_795_305_600_000)  # 2026-11-22: the log's day is over
        fast, raw = QueryEngine(store, clock), QueryEngine(store, clock, use_rollups=False)
        q = QuerySpec(app, "custom", "2026-11-21,2026-11-21")
        metrics = ["visitors", "visits", "pageviews"]
        assert raw.aggregate(q, metrics)["pageviews"]["value"] == 3
        assert fast.aggregate(q, metrics) == raw.aggregate(q, metrics)
        assert store.fetch(
            "SELECT coalesce(sum(pageviews), 0) FROM rollup_hits WHERE dim = ''"
        ) == [(3,)]
    finally:
        store.close()
