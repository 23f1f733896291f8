"""GET /footfall.js: the served tracker — type, caching, versioned URLs, gzip, size budget, build sync;
and the same tracker under Plausible's script names (/js/script.*.js) and Umami's (/script.js)."""

from __future__ import annotations

import gzip
import hashlib
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from footfall.collect.script import (
    BUDGET_GZIP_BYTES,
    PLAUSIBLE_BUDGET_GZIP_BYTES,
    PLAUSIBLE_EXTENSIONS,
    TAGGED_EVENTS_BUDGET_GZIP_BYTES,
    UMAMI_BUDGET_GZIP_BYTES,
    TrackerScript,
    load_tracker,
    plausible_script,
    umami_script,
)

ROOT = Path(__file__).resolve().parents[2]
TRACKER = ROOT / "tracker"
BUILT = ROOT / "src" / "footfall" / "static" / "footfall.js"
BUILT_GZIP = BUILT.with_name("footfall.js.gz")


@pytest.fixture
def script() -> TrackerScript:
    return TrackerScript(load_tracker())


def get(http: httpx.Client, path: str, **headers: str) -> httpx.Response:
    # identity unless a test asks for gzip, so bodies compare byte for byte
    return http.get(path, headers={"Accept-Encoding": "identity", **headers})


def test_serves_the_built_script_as_javascript(http: httpx.Client) -> None:
    resp = get(http, "/footfall.js")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/javascript; charset=utf-8"
    assert resp.content == BUILT.read_bytes()
    assert resp.headers["content-length"] == str(len(resp.content))
    assert resp.headers["access-control-allow-origin"] == "*"
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert "content-encoding" not in resp.headers


def test_plain_url_is_cached_a_day_then_revalidated(http: httpx.Client) -> None:
    resp = get(http, "/footfall.js")
    assert resp.headers["cache-control"] == "public, max-age=86400, must-revalidate"
    digest = hashlib.sha256(resp.content).hexdigest()
    assert resp.headers["etag"] == f'"{digest[:32]}"'

    again = get(http, "/footfall.js", **{"If-None-Match": resp.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == resp.headers["etag"]
    assert again.headers["cache-control"] == resp.headers["cache-control"]


@pytest.mark.parametrize(
    "if_none_match",
    ['"0123"', 'W/"0123"', '"0123", "4567"'],
)
def test_a_stale_etag_gets_the_full_script(http: httpx.Client, if_none_match: str) -> None:
    resp = get(http, "/footfall.js", **{"If-None-Match": if_none_match})
    assert resp.status_code == 200
    assert resp.content == BUILT.read_bytes()


def test_weak_and_listed_etags_match(http: httpx.Client) -> None:
    etag = get(http, "/footfall.js").headers["etag"]
    assert get(http, "/footfall.js", **{"If-None-Match": f'"x", W/{etag}'}).status_code == 304
    assert get(http, "/footfall.js", **{"If-None-Match": "*"}).status_code == 304


def test_versioned_urls_are_immutable(http: httpx.Client, script: TrackerScript) -> None:
    for path in (f"/footfall.js?v={script.version}", script.path):
        resp = get(http, path)
        assert resp.status_code == 200, path
        assert resp.content == BUILT.read_bytes()
        assert resp.headers["cache-control"] == "public, max-age=31536000, immutable"


def test_a_stale_version_gets_the_current_script_with_the_short_policy(
    http: httpx.Client,
) -> None:
    for path in ("/footfall.js?v=000000000000", "/footfall.000000000000.js"):
        resp = get(http, path)
        assert resp.status_code == 200, path
        assert resp.content == BUILT.read_bytes()
        assert resp.headers["cache-control"] == "public, max-age=86400, must-revalidate"


def test_gzip_when_accepted(http: httpx.Client) -> None:
    resp = http.get("/footfall.js", headers={"Accept-Encoding": "gzip, br"})
    assert resp.headers["content-encoding"] == "gzip"
    assert resp.headers["vary"] == "Accept-Encoding"
    assert resp.content == BUILT.read_bytes()  # httpx decodes
    refused = http.get("/footfall.js", headers={"Accept-Encoding": "gzip;q=0, br"})
    assert "content-encoding" not in refused.headers


def test_served_script_is_within_the_size_budget(http: httpx.Client) -> None:
    with http.stream("GET", "/footfall.js", headers={"Accept-Encoding": "gzip"}) as resp:
        wire = b"".join(resp.iter_raw())
    assert len(wire) == int(resp.headers["content-length"])
    assert gzip.decompress(wire) == BUILT.read_bytes()
    assert len(wire) <= BUDGET_GZIP_BYTES, f"tracker is {len(wire)} B gzipped"


def test_the_gzip_sent_is_the_one_the_build_made(http: httpx.Client) -> None:
    """The build's zopfli gzip is smaller than zlib's best; it is sent as it is."""
    with http.stream("GET", "/footfall.js", headers={"Accept-Encoding": "gzip"}) as resp:
        wire = b"".join(resp.iter_raw())
    assert wire == BUILT_GZIP.read_bytes()
    assert len(wire) < len(gzip.compress(BUILT.read_bytes(), compresslevel=9, mtime=0))


def test_a_shipped_gzip_that_is_not_the_scripts_is_not_sent() -> None:
    body = load_tracker()
    for wrong in (gzip.compress(body + b"//", mtime=0), b"not gzip", BUILT_GZIP.read_bytes()[:-9]):
        script = TrackerScript(body, wrong)
        assert gzip.decompress(script.gzipped) == body


def test_head_sends_headers_only(http: httpx.Client) -> None:
    resp = http.head("/footfall.js", headers={"Accept-Encoding": "identity"})
    assert resp.status_code == 200
    assert resp.content == b""
    assert resp.headers["content-length"] == str(BUILT.stat().st_size)


def test_the_built_file_is_the_build_of_the_source(tmp_path: Path) -> None:
    """Without Node: tracker/build.sha256 (written by `make tracker`) names the files' hashes."""
    recorded: dict[str, str] = {}
    for line in (TRACKER / "build.sha256").read_text().splitlines():
        digest, name = line.split("  ", 1)
        recorded[name] = digest
    source = hashlib.sha256((TRACKER / "footfall.src.js").read_bytes()).hexdigest()
    built = hashlib.sha256(BUILT.read_bytes()).hexdigest()
    assert recorded["footfall.src.js"] == source, "source changed: run `make tracker`"
    assert recorded["../src/footfall/static/footfall.js"] == built, (
        "built file edited by hand: run `make tracker`"
    )
    gzipped = hashlib.sha256(BUILT_GZIP.read_bytes()).hexdigest()
    assert recorded["../src/footfall/static/footfall.js.gz"] == gzipped, (
        "gzipped file edited by hand: run `make tracker`"
    )


def test_rebuilding_reproduces_the_committed_file(tmp_path: Path) -> None:
    """With Node and the locked minifier installed (`make tracker` once), rebuild and compare."""
    node = shutil.which("node")
    modules = TRACKER / "node_modules"
    if node is None or not all((modules / m).is_dir() for m in ("terser", "@gfx/zopfli")):
        pytest.skip(
            "node or tracker/node_modules missing (run `make tracker`); hash check covers it"
        )
    out = tmp_path / "footfall.js"
    subprocess.run(
        [node, "build.mjs", "--out", str(out)], cwd=TRACKER, check=True, capture_output=True
    )
    assert out.read_bytes() == BUILT.read_bytes(), "built file is stale: run `make tracker`"
    gzipped = out.with_name("footfall.js.gz").read_bytes()
    assert gzipped == BUILT_GZIP.read_bytes(), "gzipped file is stale: run `make tracker`"


# Plausible's script names: /js/script.js and /js/script.<ext>[.<ext>…].js


@pytest.mark.parametrize(
    ("path", "options"),
    [
        ("/js/script.js", ""),
        ("/js/plausible.js", ""),
        ("/js/script.outbound-links.js", 'd.outbound=""'),
        ("/js/script.file-downloads.js", 'd.downloads=d.fileTypes||""'),
        ("/js/script.hash.js", 'd.hash=""'),
        ("/js/script.local.js", 'd.local=""'),
        ("/js/script.tagged-events.js", ""),
        ("/js/script.revenue.js", ""),
        ("/js/script.hash.outbound-links.js", 'd.hash="";d.outbound=""'),
        ("/js/script.outbound-links.hash.js", 'd.hash="";d.outbound=""'),
        (
            "/js/plausible.file-downloads.hash.outbound-links.revenue.js",
            'd.downloads=d.fileTypes||"";d.hash="";d.outbound=""',
        ),
    ],
)
def test_plausible_script_names_serve_the_tracker_with_their_options(
    http: httpx.Client, path: str, options: str
) -> None:
    resp = get(http, path)
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/javascript; charset=utf-8"
    assert resp.headers["cache-control"] == "public, max-age=86400, must-revalidate"
    assert resp.headers["access-control-allow-origin"] == "*"
    tracker = BUILT.read_bytes()
    prefix, _, suffix = resp.content.partition(tracker)
    assert suffix, "the built tracker is served whole, between the Plausible prefix and suffix"
    assert prefix.endswith(f"{options}}}catch(e){{}}}})(document.currentScript);\n".encode())
    assert b"w.plausible=" in suffix


@pytest.mark.parametrize(
    "path",
    [
        "/js/script.manual.js",  # footfall cannot leave pageviews to the page
        "/js/script.exclusions.js",  # nor skip the pages a site excludes
        "/js/script.compat.js",  # the tracker needs document.currentScript
        "/js/script.hash.hash.js",
        "/js/script.hash.nonsense.js",
        "/js/other.js",
        "/js/script",
        "/js/script.hash",
        "/js/footfall.js",
    ],
)
def test_other_js_names_are_not_found(http: httpx.Client, path: str) -> None:
    assert get(http, path).status_code == 404


@pytest.mark.parametrize(
    ("path", "budget"),
    [
        (
            "/js/plausible.file-downloads.hash.local.outbound-links.revenue.js",
            PLAUSIBLE_BUDGET_GZIP_BYTES,
        ),
        (
            "/js/plausible.file-downloads.hash.local.outbound-links.revenue.tagged-events.js",
            PLAUSIBLE_BUDGET_GZIP_BYTES + TAGGED_EVENTS_BUDGET_GZIP_BYTES,
        ),
    ],
)
def test_plausible_names_revalidate_and_gzip_within_their_budget(
    http: httpx.Client, path: str, budget: int
) -> None:
    resp = get(http, path)
    digest = hashlib.sha256(resp.content).hexdigest()
    assert resp.headers["etag"] == f'"{digest[:32]}"'
    assert get(http, path, **{"If-None-Match": resp.headers["etag"]}).status_code == 304
    assert http.head(path).status_code == 200
    with http.stream("GET", path, headers={"Accept-Encoding": "gzip"}) as gz:
        wire = b"".join(gz.iter_raw())
    assert gz.headers["content-encoding"] == "gzip"
    assert gzip.decompress(wire) == resp.content
    assert len(wire) <= budget, f"{path} is {len(wire)} B gzipped"


def test_plausible_wrapper_parses_as_javascript(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is missing; the browser tests run the wrapper")
    out = tmp_path / "script.js"
    out.write_bytes(plausible_script(load_tracker(), frozenset(PLAUSIBLE_EXTENSIONS)))
    subprocess.run([node, "--check", str(out)], check=True, capture_output=True)


def test_umamis_script_name_serves_the_tracker_within_its_budget(http: httpx.Client) -> None:
    resp = get(http, "/script.js")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/javascript; charset=utf-8"
    assert resp.headers["cache-control"] == "public, max-age=86400, must-revalidate"
    assert resp.headers["access-control-allow-origin"] == "*"
    prefix, _, suffix = resp.content.partition(BUILT.read_bytes())
    assert suffix, "the built tracker is served whole, inside the Umami wrapper"
    assert b"d.app=d.websiteId" in prefix and b"window.umami=" in prefix
    assert get(http, "/script.js", **{"If-None-Match": resp.headers["etag"]}).status_code == 304
    with http.stream("GET", "/script.js", headers={"Accept-Encoding": "gzip"}) as gz:
        wire = b"".join(gz.iter_raw())
    assert gzip.decompress(wire) == resp.content
    assert len(wire) <= UMAMI_BUDGET_GZIP_BYTES, f"/script.js is {len(wire)} B gzipped"


def test_umami_wrapper_parses_as_javascript(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is missing; the browser tests run the wrapper")
    out = tmp_path / "script.js"
    out.write_bytes(umami_script(load_tracker()))
    subprocess.run([node, "--check", str(out)], check=True, capture_output=True)
