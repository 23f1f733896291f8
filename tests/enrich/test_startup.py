"""Start-up: the log names the steps and the user-agent parser; --geoip-db is checked and used."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from footfall.cli import main
from footfall.clock import FrozenClock
from footfall.runtime import Runtime
from footfall.settings import Config
from tests.enrich.mmdb import city_record, write_city_db
from tests.live import live_server


def test_start_logs_the_steps_and_the_active_parser(
    db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    runtime = Runtime.build(Config(db=str(db_path)), clock=FrozenClock())
    with caplog.at_level(logging.INFO, logger="footfall"):
        runtime.start()
    runtime.close()
    text = caplog.text
    assert "privacy, user-agent, bots, geo, referrer, campaign, anonymize-ip" in text
    assert "user agents parsed by ua-parser" in text and "with google-re2" in text
    assert "countries from iptocc" in text


def test_a_missing_geoip_db_stops_serve_with_a_message(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["serve", "--db", str(tmp_path / "f.duckdb"), "--geoip-db", str(tmp_path / "nope.mmdb")],
    )
    assert result.exit_code == 1
    assert "nope.mmdb: no such file" in result.output
    assert "Traceback" not in result.output


def test_region_and_city_are_stored_with_a_city_database(tmp_path: Path, db_path: Path) -> None:
    mmdb = write_city_db(
        tmp_path / "city.mmdb", {"81.2.69.0/24": city_record("GB", "England", "London")}
    )
    with live_server(
        db_path, clock=FrozenClock(), geoip_db=str(mmdb), trusted_proxies=("127.0.0.1",)
    ) as srv:
        app = srv.create_app()
        with httpx.Client(base_url=srv.url, timeout=10) as http:
            for ip in ("81.2.69.142", "8.8.8.8"):
                http.get(f"/p.gif?app={app.id}&path=/", headers={"X-Forwarded-For": ip})
        assert sorted(srv.rows("SELECT country, region, city FROM events")) == [
            ("GB", "England", "London"),
            ("US", None, None),
        ]
