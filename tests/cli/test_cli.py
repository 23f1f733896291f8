"""The `footfall` command: apps, stats, settings — run as a real process against a real DuckDB file."""

from __future__ import annotations

import os
import re
from pathlib import Path

from footfall.clock import SystemClock
from footfall.hit_tables import hits_to_table
from footfall.model import Hit, new_uuid
from footfall.settings import SETTINGS, markdown_table
from footfall.store import open_store
from tests.test_durability import footfall

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def test_apps_create_list_delete(tmp_path: Path) -> None:
    db = str(tmp_path / "f.duckdb")
    out = footfall("apps", "create", "Blog", "--url", "blog.example", "--db", db)
    assert out.returncode == 0, out.stderr
    app_id = out.stdout.splitlines()[0]
    assert UUID.match(app_id)
    # the snippet: the tracker script tag and the image beacon for visitors without JavaScript
    assert f'data-app="{app_id}"' in out.stdout and "/footfall.js" in out.stdout
    assert f"/p.gif?app={app_id}" in out.stdout
    listing = footfall("apps", "list", "--db", db).stdout
    assert app_id in listing and "https://blog.example" in listing
    assert footfall("apps", "delete", app_id, "--yes", "--db", db).returncode == 0
    assert app_id not in footfall("apps", "list", "--db", db).stdout


def test_new_apps_are_cookieless_and_cookie_mode_on_another_host_is_warned(
    tmp_path: Path,
) -> None:
    db = str(tmp_path / "f.duckdb")
    plain = footfall("apps", "create", "Blog", "--url", "blog.example", "--db", db)
    assert plain.returncode == 0 and "warning" not in plain.stderr
    assert '"identity":"cookieless"' in json_settings(db, plain.stdout.split()[0])
    cross = footfall(
        "apps",
        "create",
        "Shop",
        "--url",
        "shop.example",
        "--identity",
        "cookie",
        "--base-url",
        "https://stats.other.example",
        "--db",
        db,
    )
    assert cross.returncode == 0
    assert "third-party" in cross.stderr and "stats.other.example" in cross.stderr
    same = footfall(
        "apps",
        "create",
        "Docs",
        "--url",
        "docs.example",
        "--identity",
        "cookie",
        "--base-url",
        "https://stats.docs.example",
        "--db",
        db,
    )
    assert same.returncode == 0 and "warning" not in same.stderr  # footfall on a subdomain
    switched = footfall("apps", "set", "Blog", "--identity", "cookie", "--db", db)
    assert switched.returncode == 0 and "third-party" in switched.stderr


def json_settings(db: str, app_id: str) -> str:
    import duckdb

    with duckdb.connect(db, read_only=True) as con:
        row = con.execute("SELECT settings FROM apps WHERE id = ?", [app_id]).fetchone()
    assert row is not None
    return str(row[0]).replace(" ", "")


def test_bad_input_is_a_message_and_a_non_zero_exit(tmp_path: Path) -> None:
    db = str(tmp_path / "f.duckdb")
    bad_url = footfall("apps", "create", "X", "--url", "ftp://nope", "--db", db)
    assert (
        bad_url.returncode != 0
        and "not a web address" in bad_url.stderr
        and "Traceback" not in bad_url.stderr
    )
    missing = footfall("stats", "no-such-app", "--db", db)
    assert missing.returncode != 0 and "no app" in missing.stderr
    bad_since = footfall("stats", "x", "--since", "forever", "--db", db)
    assert bad_since.returncode != 0 and "duration" in bad_since.stderr


def test_stats_prints_the_right_counts(tmp_path: Path) -> None:
    db = str(tmp_path / "f.duckdb")
    app_id = footfall("apps", "create", "Shop", "--db", db).stdout.split()[0]
    now = SystemClock().now_ms()
    hour = 3_600_000
    # 3 visitors, 4 sessions, 7 pageviews (/ ×3, /a ×3, /b ×1), 1 event, plus an old hit outside 30 days
    plan = [
        ("v1", "s1", "/", "pageview", 5),
        ("v1", "s1", "/a", "pageview", 5),
        ("v1", "s2", "/a", "pageview", 48),
        ("v2", "s3", "/", "pageview", 1),
        ("v2", "s3", "/a", "pageview", 1),
        ("v2", "s3", "/a", "signup", 1),
        ("v3", "s4", "/", "pageview", 2),
        ("v3", "s4", "/b", "pageview", 2),
        ("v9", "s9", "/old", "pageview", 24 * 40),
    ]
    hits = [
        Hit(
            hit_id=new_uuid(),
            app_id=app_id,
            ts=now - ago * hour,
            visitor_id=v,
            session_id=s,
            path=p,
            event=e,
        )
        for v, s, p, e, ago in plan
    ]
    store = open_store(db)
    store.insert_events(hits_to_table(hits))
    store.close()
    out = footfall("stats", app_id, "--db", db)
    assert out.returncode == 0, out.stderr
    numbers = dict(
        re.findall(r"^\s+(pageviews|visitors|sessions|events)\s+(\d+)$", out.stdout, re.M)
    )
    assert numbers == {"pageviews": "7", "visitors": "3", "sessions": "4", "events": "1"}
    top = re.findall(r"^\s+(/\S*)\s+(\d+)$", out.stdout, re.M)
    assert top == [("/", "3"), ("/a", "3"), ("/b", "1")]
    week = footfall("stats", "Shop", "--since", "24h", "--db", db).stdout
    assert re.search(r"pageviews\s+6$", week, re.M)  # the hit 48 h ago is outside


def test_db_memory_caps_duckdb_and_a_bad_value_is_a_message(tmp_path: Path) -> None:
    from footfall.runtime import Runtime
    from footfall.settings import Config

    db = tmp_path / "f.duckdb"
    runtime = Runtime.build(Config(db=str(db), db_memory="128MB", db_memory_resting="32MB"))
    try:
        (limit,) = runtime.store.fetch("SELECT current_setting('memory_limit')")[0]
        assert limit == "30.5 MiB"  # DuckDB reports 32 MB in binary units: the resting limit
        assert runtime.store.memory.most == "122.0 MiB"  # and 128 MB for what may be raised
    finally:
        runtime.close()
    env_bad = footfall("serve", "--db", str(db), env={**os.environ, "FOOTFALL_DB_MEMORY": "lots"})
    assert env_bad.returncode != 0 and "Traceback" not in env_bad.stderr
    assert "Memory must have a number" in env_bad.stderr
    resting_bad = footfall("serve", "--db", str(db), "--db-memory-resting", "lots")
    assert resting_bad.returncode != 0 and "Traceback" not in resting_bad.stderr
    assert "'lots' is not a memory size" in resting_bad.stderr


def test_every_setting_is_a_flag_and_an_environment_variable() -> None:
    help_text = footfall("serve", "--help").stdout
    for setting in SETTINGS:
        assert setting.flag in help_text
        assert setting.env in help_text


def test_configuration_docs_show_the_settings_table() -> None:
    docs = (Path(__file__).parents[2] / "docs" / "configuration.md").read_text()
    assert markdown_table() in docs, (
        "run `footfall settings --markdown` and paste it into docs/configuration.md"
    )
