"""`footfall export` → `footfall import` moves events without loss; keys and stats on the command line.

The command runs in-process through click's runner (same code, same DuckDB files); the process-level
behaviour (exit codes, a busy database) is covered by tests/cli/test_cli.py."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from footfall.hit_tables import hits_to_table
from footfall.model import Hit
from footfall.query.export import neutralise
from footfall.schema import COLUMN_NAMES
from footfall.store.duckdb import DuckDBStore
from tests.query.dataset import APP_ID, load


class Ran:
    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def footfall(*args: str) -> Ran:
    """The real `footfall` command, run in this process (a real DuckDB file; faster than a subprocess)."""
    from click.testing import CliRunner

    from footfall.cli import main

    result = CliRunner().invoke(main, list(args))
    return Ran(result.exit_code, result.stdout, result.stderr)


ROW = ", ".join(c for c in COLUMN_NAMES if c != "app_id")


def rows(db: Path, app_id: str) -> list[tuple[object, ...]]:
    store = DuckDBStore(str(db))
    try:
        return store.fetch(f"SELECT {ROW} FROM events WHERE app_id = ? ORDER BY hit_id", [app_id])  # noqa: S608
    finally:
        store.close()


@pytest.fixture
def source(tmp_path: Path) -> Path:
    db = tmp_path / "source.duckdb"
    store, berlin, _ = load(db)
    # a hit with every kind of value: props, a float, an int, a formula-looking title
    store.insert_events(
        hits_to_table(
            [
                Hit(
                    hit_id="odd",
                    app_id=berlin.id,
                    ts=1_768_000_000_123,
                    event="buy",
                    props={"plan": "pro", "n": "3"},
                    pixel_ratio=1.5,
                    status=201,
                    title="=HYPERLINK(1)",
                    path="/ü/ß",
                )
            ]
        )
    )
    store.close()
    return db


def test_ndjson_round_trip_is_lossless_and_idempotent(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "berlin.ndjson"
    done = footfall("export", APP_ID, "--format", "ndjson", "-o", str(out), "--db", str(source))
    assert done.returncode == 0, done.stderr
    head = json.loads(out.read_text().splitlines()[0])
    assert head["format"] == "footfall-events" and head["version"] == 1
    target = tmp_path / "target.duckdb"
    new_id = footfall("apps", "create", "Copy", "--db", str(target)).stdout.split()[0]
    first = footfall("import", str(out), "--app", new_id, "--db", str(target))
    assert first.returncode == 0, first.stderr
    assert "imported 14 hits" in first.stdout
    assert rows(target, new_id) == rows(source, APP_ID)
    again = footfall("import", str(out), "--app", new_id, "--db", str(target))
    assert "imported 0 hits" in again.stdout and "14 were there already" in again.stdout
    assert len(rows(target, new_id)) == 14
    # imported hits reach the rollups too: the CLI's stats (rollup path) agree with the source
    a = footfall(
        "stats", APP_ID, "--period", "7d", "--date", "2026-01-10", "--json", "--db", str(source)
    )
    b = footfall(
        "stats", new_id, "--period", "7d", "--date", "2026-01-10", "--json", "--db", str(target)
    )
    assert json.loads(a.stdout)["results"]["pageviews"] == {"value": 10}
    assert json.loads(b.stdout)["results"]["pageviews"]["value"] == 10


def test_export_a_date_range_and_csv(source: Path) -> None:
    one_day = footfall(
        "export", APP_ID, "--from", "2026-01-10", "--to", "2026-01-10", "--db", str(source)
    )
    assert (
        len(one_day.stdout.splitlines()) - 1 == 5
    )  # s3's signup, s4 ×2, s5, and "odd" (01-10 00:06 Berlin)
    table = footfall("export", APP_ID, "--format", "csv", "--db", str(source)).stdout
    records = list(csv.DictReader(io.StringIO(table)))
    odd = next(r for r in records if r["hit_id"] == "odd")
    assert odd["title"] == "'=HYPERLINK(1)"
    assert json.loads(odd["props"]) == {"plan": "pro", "n": "3"}
    assert odd["ts"] == "2026-01-09T23:06:40.123Z"


def test_parquet_export_reads_back(source: Path, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    out = tmp_path / "e.parquet"
    assert (
        footfall(
            "export", APP_ID, "--format", "parquet", "-o", str(out), "--db", str(source)
        ).returncode
        == 0
    )
    table = pq.read_table(out)
    assert table.num_rows == 14 and table.schema.metadata[b"footfall_version"] == b"1"


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=x", "'\t=x"),
        ("/a=b", "/a=b"),
        ("", ""),
    ],
)
def test_csv_cells_never_start_a_formula(cell: str, safe: str) -> None:
    assert neutralise(cell) == safe


def test_import_rejects_what_is_not_the_format(tmp_path: Path) -> None:
    db = tmp_path / "t.duckdb"
    app_id = footfall("apps", "create", "T", "--db", str(db)).stdout.split()[0]
    bad = tmp_path / "bad.ndjson"
    bad.write_text(
        '{"format": "footfall-events", "version": 1}\n{"hit_id": "a", "ts": "2026-01-01T00:00:00Z"}\nnot json\n'
    )
    out = footfall("import", str(bad), "--app", app_id, "--db", str(db))
    assert out.returncode != 0 and "line 3" in out.stderr and "Traceback" not in out.stderr
    newer = tmp_path / "v9.ndjson"
    newer.write_text('{"format": "footfall-events", "version": 9}\n')
    out = footfall("import", str(newer), "--app", app_id, "--db", str(db))
    assert out.returncode != 0 and "version 9" in out.stderr


def test_keys_create_list_revoke(tmp_path: Path) -> None:
    db = str(tmp_path / "k.duckdb")
    footfall("apps", "create", "Shop", "--url", "shop.example", "--db", db)
    made = footfall("keys", "create", "--app", "shop.example", "--name", "ci", "--db", db)
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip()
    assert secret.startswith("ff_") and len(secret) > 40
    key_id = secret.split("_")[1]
    listing = footfall("keys", "list", "--db", db).stdout
    assert key_id in listing and "active" in listing and secret not in listing
    store = DuckDBStore(db)
    try:
        assert secret not in str(store.fetch("SELECT * FROM api_keys"))  # only a hash is kept
    finally:
        store.close()
    assert footfall("keys", "revoke", key_id, "--db", db).returncode == 0
    assert "revoked" in footfall("keys", "list", "--db", db).stdout
    assert footfall("keys", "revoke", key_id, "--db", db).returncode != 0


def test_stats_breakdown_filters_and_json(source: Path) -> None:
    common = ["--period", "7d", "--date", "2026-01-10", "--db", str(source)]
    out = footfall("stats", APP_ID, "--by", "visit:source", "--metrics", "visitors,visits", *common)
    assert out.returncode == 0, out.stderr
    assert [line.split()[:3] for line in out.stdout.splitlines()[2:4]] == [
        ["Google", "3", "3"],
        ["(none)", "2", "2"],
    ]
    js = footfall(
        "stats", APP_ID, "--by", "event:page", "--filter", "visit:country==DE", "--json", *common
    )
    assert json.loads(js.stdout)["results"][0] == {"page": "/", "visitors": 1, "pageviews": 1}
    bad = footfall("stats", APP_ID, "--by", "visit:nope", *common)
    assert bad.returncode != 0 and "--by" in bad.stderr and "Traceback" not in bad.stderr
