"""The footfall command sets DuckDB's and Arrow's allocators up to give freed memory back, before
either library loads; a user's own settings win, and importing footfall as a library changes
nothing."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import httpx
import pytest

from footfall import allocators
from tests.live import free_port
from tests.test_durability import footfall, start_server


def fresh_python(code: str, env: dict[str, str] | None = None) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in _names()}
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean, **(env or {})},
        check=True,
    )
    return out.stdout


def _names() -> list[str]:
    return [name for name, _, _ in allocators.DEFAULTS]


def test_configure_sets_every_variable_the_user_has_not_set() -> None:
    code = "import json; from footfall import allocators; env = {}; allocators.configure(env); print(json.dumps(env))"
    env = json.loads(fresh_python(code))
    assert env == {name: value for name, value, _ in allocators.DEFAULTS}


def test_a_variable_the_user_set_is_kept_even_when_empty() -> None:
    env = {"DUCKDB_JE_MALLOC_CONF": "", "ARROW_DEFAULT_MEMORY_POOL": "mimalloc"}
    assert allocators.configure(env) == {}
    assert env == {"DUCKDB_JE_MALLOC_CONF": "", "ARROW_DEFAULT_MEMORY_POOL": "mimalloc"}


def test_nothing_is_set_for_a_library_already_loaded() -> None:
    import duckdb  # noqa: F401
    import pyarrow  # noqa: F401

    env: dict[str, str] = {}
    assert allocators.configure(env) == {}
    assert env == {}


def test_importing_footfall_as_a_library_leaves_the_allocators_alone() -> None:
    report = "print(os.environ.get('DUCKDB_JE_MALLOC_CONF'), pa.default_memory_pool().backend_name)"
    plain = fresh_python("import os, pyarrow as pa;" + report)
    with_footfall = fresh_python(
        "import os, footfall.runtime, footfall.client, pyarrow as pa;" + report
    )
    assert with_footfall == plain
    assert with_footfall.split()[0] == "None"


def test_duckdbs_jemalloc_reads_the_setting() -> None:
    """Guards against a DuckDB release that renames the variable (the setting would do nothing)."""
    code = textwrap.dedent(
        """
        import ctypes, os
        from footfall import allocators
        allocators.configure(os.environ)
        import _duckdb
        lib = ctypes.CDLL(_duckdb.__file__)
        if not hasattr(lib, "duckdb_je_mallctl"):
            raise SystemExit(print("no-jemalloc"))
        def opt(name, kind):
            value, size = kind(), ctypes.c_size_t(ctypes.sizeof(kind))
            lib.duckdb_je_mallctl(name.encode(), ctypes.byref(value), ctypes.byref(size), None, 0)
            return value.value
        print(opt("opt.dirty_decay_ms", ctypes.c_ssize_t), opt("opt.muzzy_decay_ms", ctypes.c_ssize_t),
              opt("opt.background_thread", ctypes.c_bool))
        """
    )
    out = fresh_python(code).split()
    if out == ["no-jemalloc"]:
        pytest.skip("this DuckDB build does not bundle jemalloc")
    assert out == ["250", "0", "True"]


def served_log(tmp_path: Path, env: dict[str, str]) -> str:
    """The startup log of a real `footfall serve` process started with ``env`` (and none of the
    allocator variables of the test run's own environment)."""
    clean = {k: v for k, v in os.environ.items() if k not in _names()}
    proc = start_server(tmp_path / "m.duckdb", free_port(), environ={**clean, **env})
    proc.terminate()
    return proc.communicate(timeout=60)[0].decode()


def test_the_server_runs_with_them_and_says_so(tmp_path: Path) -> None:
    log = served_log(tmp_path, {})
    assert "DuckDB jemalloc: background_thread:true,dirty_decay_ms:250,muzzy_decay_ms:0" in log
    assert "Arrow memory pool (when loaded): system" in log


def metric(base: str, name: str) -> int:
    for line in httpx.get(f"{base}/-/metrics").text.splitlines():
        if line.startswith(name + " "):
            return int(float(line.split()[1]))
    raise AssertionError(f"no metric {name}")


@pytest.mark.skipif(platform.system() != "Linux", reason="reads /proc/PID/maps")
def test_a_collecting_and_folding_server_never_loads_arrow(tmp_path: Path) -> None:
    """Arrow's libraries are ~26 MB resident: only exports and imports may load them."""
    db = tmp_path / "a.duckdb"
    app_id = footfall("apps", "create", "A", "--url", "https://a.example", "--db", str(db))
    app_id = app_id.stdout.split()[0]
    port = free_port()
    proc = start_server(db, port, "--flush-interval", "0.2", "--rollup-batch", "1")
    base = f"http://127.0.0.1:{port}"
    try:
        browser = {"user-agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 Safari/537.36"}
        for n in range(3):  # (a browser's: bots are left out of the rollups)
            query = {"app": app_id, "path": f"/{n}"}
            httpx.get(f"{base}/p.gif", params=query, headers=browser).raise_for_status()
        deadline = time.monotonic() + 30
        while metric(base, "footfall_rollup_waiting") or not metric(
            base, "footfall_rollup_folds_total"
        ):
            assert time.monotonic() < deadline, "the hits were not folded in"
            time.sleep(0.05)
        assert metric(base, "footfall_hits_written_total") == 3
        maps = Path(f"/proc/{proc.pid}/maps").read_text()
    finally:
        proc.terminate()
        proc.communicate(timeout=60)
    assert "libduckdb" in maps or "_duckdb" in maps  # the maps are the server's
    assert "pyarrow" not in maps and "libarrow" not in maps
    with duckdb.connect(str(db), read_only=True) as con:  # and the rollups have the hits
        assert con.execute("SELECT sum(pageviews) FROM rollup_hits WHERE dim = ''").fetchall() == [
            (3,)
        ]


def test_the_server_runs_with_the_users_choice(tmp_path: Path) -> None:
    log = served_log(tmp_path, {"ARROW_DEFAULT_MEMORY_POOL": "mimalloc"})
    assert "Arrow memory pool (when loaded): mimalloc" in log
    assert "DuckDB jemalloc: background_thread:true,dirty_decay_ms:250,muzzy_decay_ms:0" in log


def test_release_free_memory_returns_free_pages_inside_the_c_heap() -> None:
    """glibc gives back only the heap's free top on its own: ~80 MB freed below a chunk still in
    use stay resident until ``malloc_trim`` (what a fold's freed batches looked like)."""
    code = textwrap.dedent(
        """
        import ctypes, re
        from footfall import allocators
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc.restype = ctypes.c_void_p
        libc.free.argtypes = [ctypes.c_void_p]
        def anon_mb():
            status = open("/proc/self/status").read()
            return int(re.search(r"RssAnon:\\s+(\\d+)", status).group(1)) // 1024
        chunks = [libc.malloc(64 * 1024) for _ in range(1280)]  # 80 MB, below the mmap size
        for c in chunks:
            ctypes.memset(c, 1, 64 * 1024)
        for c in chunks[:-1]:  # the last one stays: the free space is not at the heap's top
            libc.free(c)
        before = anon_mb()
        released = allocators.release_free_memory()
        print(released, before - anon_mb())
        """
    )
    if not Path("/proc/self/status").exists() or "glibc" not in " ".join(platform.libc_ver()):
        pytest.skip("needs Linux with glibc")
    released, dropped = fresh_python(code).split()
    assert released == "True"
    assert int(dropped) > 60
