"""Driving the dashboard over real HTTP the way a browser would: forms, cookies, tokens."""

from __future__ import annotations

import itertools
import re
from urllib.parse import quote

import httpx

from tests.live import LiveServer

CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
PASSWORD = "correct horse battery staple"
_HIDDEN = re.compile(r'<input type="hidden" name="(csrf|token)" value="([^"]+)">')


def hidden(html: str, name: str) -> str:
    for found, value in _HIDDEN.findall(html):
        if found == name:
            return value
    raise AssertionError(f"no hidden {name} field in the page")


def log_in(http: httpx.Client, email: str, password: str = PASSWORD) -> httpx.Response:
    page = http.get("/login")
    return http.post(
        "/login",
        data={"token": hidden(page.text, "token"), "email": email, "password": password},
    )


def csrf(http: httpx.Client, path: str = "/apps") -> str:
    return hidden(http.get(path).text, "csrf")


def send_pageview(
    http: httpx.Client, app_id: str, path: str, *, title: str = "", ua: str = "", **extra: str
) -> None:
    """A pageview with ``ua``, else the client's browser user agent (see :func:`visitor`)."""
    fields = {"app": app_id, "path": path, "title": title, **extra}
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in fields.items())
    own = http.headers.get("user-agent", "")
    agent = ua or (own if own.startswith("Mozilla/") else CHROME)
    resp = http.get("/p.gif?" + query, headers={"User-Agent": agent})
    assert resp.status_code == 200 and "x-footfall-ignored" not in resp.headers, resp.headers


_browsers = itertools.count(1)


def visitor(server: LiveServer) -> httpx.Client:
    """A separate browser sending hits: its own cookie jar, and its own Chrome build in the user
    agent, so cookieless identity (a hash of address and user agent) tells it apart too."""
    agent = CHROME.replace("Chrome/131.0.0.0", f"Chrome/131.0.{next(_browsers)}.0")
    return httpx.Client(base_url=server.url, timeout=10, headers={"User-Agent": agent})


def metric(html: str, key: str) -> str:
    """The headline value shown for ``key`` (e.g. visitors), as text."""
    m = re.search(rf'data-metric="{key}">\s*<h2>[^<]*</h2>\s*<p class="value">([^<]*)</p>', html)
    assert m, f"no headline {key}"
    return m.group(1)


def change(html: str, key: str) -> str | None:
    m = re.search(
        rf'data-metric="{key}">\s*<h2>[^<]*</h2>\s*<p class="value">[^<]*</p>\s*'
        r'<p class="change[^"]*">([^<]*)</p>',
        html,
    )
    return m.group(1) if m else None


def panel(html: str, key: str) -> list[tuple[str, str]]:
    """The (label, visitors) rows of a top-10 panel; labels as HTML source (still escaped)."""
    m = re.search(rf'data-panel="{key}">(.*?)</section>', html, re.S)
    assert m, f"no panel {key}"
    return re.findall(
        r'<td class="label"><span class="fill w\d+" aria-hidden="true"></span>'
        r'(?:<a href="[^"]*">|<span>)([^<]*)(?:</a>|</span>)</td>\s*<td class="num">([^<]*)</td>',
        m.group(1),
    )


def totp(secret: str, now_ms: int) -> str:
    """The code an authenticator app shows at ``now_ms`` (RFC 6238, computed by pyotp)."""
    import pyotp

    return pyotp.TOTP(secret).at(now_ms // 1000)


_SECRET = re.compile(r'name="secret" value="([A-Z2-7]{32})"')
_RECOVERY = re.compile(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>")


def enrol(http: httpx.Client, now_ms: int) -> tuple[str, list[str]]:
    """Turn on two-factor login for the logged-in user: its secret and recovery codes."""
    token = csrf(http, "/account")
    page = http.post("/account/two-factor", data={"csrf": token, "action": "start"})
    match = _SECRET.search(page.text)
    assert page.status_code == 200 and match, page.text
    secret = match.group(1)
    done = http.post(
        "/account/two-factor",
        data={"csrf": token, "action": "enable", "secret": secret, "code": totp(secret, now_ms)},
    )
    assert done.status_code == 200, done.text
    return secret, _RECOVERY.findall(done.text)


def send_code(http: httpx.Client, code: str) -> httpx.Response:
    """The second step of a login that has had its password (the code page's form)."""
    page = http.get("/login/code")
    return http.post("/login/code", data={"csrf": hidden(page.text, "csrf"), "code": code})
