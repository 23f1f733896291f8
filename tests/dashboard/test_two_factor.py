"""Two-factor login over HTTP: enrolling (a code proves the secret was read), the code asked for
after the password, recovery codes used once, codes that never work twice, throttling, turning
it off. The clock is frozen, so the codes an app would show are known."""

from __future__ import annotations

import re

import httpx
import pyotp
import segno

from footfall.clock import FrozenClock
from footfall.dashboard.twofactor import recovery_hash
from footfall.model import User
from tests.dashboard.helpers import PASSWORD, csrf, enrol, hidden, log_in, send_code, totp
from tests.live import LiveServer


def test_enrolling_shows_a_qr_code_and_needs_a_right_code_before_it_is_on(
    server: LiveServer, clock: FrozenClock, owner: User, owner_http: httpx.Client
) -> None:
    token = csrf(owner_http, "/account")
    start = owner_http.post("/account/two-factor", data={"csrf": token, "action": "start"})
    assert start.status_code == 200
    secret = hidden_secret(start.text)
    # the QR code is the otpauth:// address authenticator apps read, drawn as SVG by the server
    uri = pyotp.TOTP(secret).provisioning_uri(name=owner.email, issuer_name="footfall")
    assert uri.startswith("otpauth://totp/footfall:owner%40example.com?secret=" + secret)
    image = segno.make(uri, error="m").svg_data_uri(scale=4, border=2)
    assert image.startswith("data:image/svg+xml;") and "%3Csvg" in image
    assert f'<img class="qr" src="{image}"' in start.text.replace("&#39;", "'")
    grouped = " ".join(secret[i : i + 4] for i in range(0, 32, 4))
    assert grouped in start.text  # the key to type by hand
    wrong = owner_http.post(
        "/account/two-factor",
        data={"csrf": token, "action": "enable", "secret": secret, "code": "000000"},
    )
    assert wrong.status_code == 400 and "not right" in wrong.text
    assert server.store.get_user(owner.id).totp_secret is None  # still off
    right = owner_http.post(
        "/account/two-factor",
        data={
            "csrf": token,
            "action": "enable",
            "secret": secret,
            "code": totp(secret, clock.now_ms()),
        },
    )
    assert right.status_code == 200 and "Two-factor login is on." in right.text
    codes = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", right.text)
    assert len(set(codes)) == 10
    assert server.store.get_user(owner.id).totp_secret == secret
    assert server.store.count_recovery_codes(owner.id) == 10
    assert not server.rows("SELECT 1 FROM recovery_codes WHERE hash = ?", [codes[0]])
    assert server.rows("SELECT 1 FROM recovery_codes WHERE hash = ?", [recovery_hash(codes[0])])
    again = owner_http.get("/account")  # shown once
    assert codes[0] not in again.text and "10 recovery codes left" in again.text


def hidden_secret(html: str) -> str:
    match = re.search(r'name="secret" value="([A-Z2-7]{32})"', html)
    assert match
    return match.group(1)


def test_a_tampered_secret_is_refused(server: LiveServer, owner_http: httpx.Client) -> None:
    token = csrf(owner_http, "/account")
    resp = owner_http.post(
        "/account/two-factor",
        data={"csrf": token, "action": "enable", "secret": "not base32!", "code": "123456"},
    )
    assert resp.status_code == 400 and "start again" in resp.text


def test_login_asks_for_the_code_after_the_password_and_a_code_works_once(
    server: LiveServer, clock: FrozenClock, owner: User, owner_http: httpx.Client
) -> None:
    secret, _ = enrol(owner_http, clock.now_ms())
    clock.advance(seconds=30)
    with httpx.Client(base_url=server.url, timeout=10) as browser:
        first = log_in(browser, owner.email)
        assert first.status_code == 303
        assert first.headers["location"] == "/login/code?next=%2Fapps"
        assert "footfall" not in browser.cookies  # no session yet: only the pending one
        pending = browser.cookies["footfall_2fa"]
        assert browser.get("/apps").status_code == 303  # the password alone opens nothing
        with httpx.Client(base_url=server.url, cookies={"footfall": pending}) as forged:
            assert forged.get("/apps").status_code == 303  # nor as a session cookie
        wrong = send_code(
            browser, "123456" if totp(secret, clock.now_ms()) != "123456" else "654321"
        )
        assert wrong.status_code == 401 and "not right" in wrong.text
        code = totp(secret, clock.now_ms())
        ok = send_code(browser, code)
        assert ok.status_code == 303 and ok.headers["location"] == "/apps"
        assert browser.get("/apps").status_code == 200
    with httpx.Client(base_url=server.url, timeout=10) as thief:  # the same code, seen
        assert log_in(thief, owner.email).status_code == 303
        assert send_code(thief, code).status_code == 401
        clock.advance(seconds=30)
        assert send_code(thief, totp(secret, clock.now_ms())).status_code == 303


def test_a_recovery_code_logs_in_once(
    server: LiveServer, clock: FrozenClock, owner: User, owner_http: httpx.Client
) -> None:
    _, codes = enrol(owner_http, clock.now_ms())
    with httpx.Client(base_url=server.url, timeout=10) as browser:
        log_in(browser, owner.email)
        assert send_code(browser, codes[3].upper().replace("-", " ")).status_code == 303
    with httpx.Client(base_url=server.url, timeout=10) as browser:
        log_in(browser, owner.email)
        assert send_code(browser, codes[3]).status_code == 401
        assert send_code(browser, codes[4]).status_code == 303
    assert server.store.count_recovery_codes(owner.id) == 8


def test_the_code_step_expires_after_five_minutes_and_needs_its_token(
    server: LiveServer,
    clock: FrozenClock,
    owner: User,
    owner_http: httpx.Client,
    http: httpx.Client,
) -> None:
    secret, _ = enrol(owner_http, clock.now_ms())
    log_in(http, owner.email)
    page = http.get("/login/code")
    no_token = http.post("/login/code", data={"code": totp(secret, clock.now_ms() + 30_000)})
    assert no_token.status_code == 403 and "footfall" not in http.cookies
    clock.advance(minutes=5, seconds=1)
    late = http.post(
        "/login/code",
        data={"csrf": hidden(page.text, "csrf"), "code": totp(secret, clock.now_ms())},
    )
    assert late.status_code == 303 and late.headers["location"] == "/login?notice=expired"
    assert "footfall" not in http.cookies
    assert http.get("/login/code").headers["location"] == "/login?notice=expired"


def test_five_wrong_codes_a_minute_hold_the_login_even_for_a_right_code(
    server: LiveServer,
    clock: FrozenClock,
    owner: User,
    owner_http: httpx.Client,
    http: httpx.Client,
) -> None:
    secret, _ = enrol(owner_http, clock.now_ms())
    clock.advance(seconds=30)
    log_in(http, owner.email)
    right = totp(secret, clock.now_ms())
    wrong = "111111" if right != "111111" else "222222"
    for _ in range(5):
        assert send_code(http, wrong).status_code == 401
    held = send_code(http, right)
    assert held.status_code == 429 and int(held.headers["retry-after"]) == 60
    clock.advance(seconds=61)
    log_in(http, owner.email)  # the pending step has expired by now
    assert send_code(http, totp(secret, clock.now_ms())).status_code == 303


def test_turning_it_off_needs_the_password_and_a_code(
    server: LiveServer, clock: FrozenClock, owner: User, owner_http: httpx.Client
) -> None:
    secret, codes = enrol(owner_http, clock.now_ms())
    clock.advance(seconds=30)
    token = csrf(owner_http, "/account")
    code = totp(secret, clock.now_ms())

    def off(password: str, code: str) -> httpx.Response:
        return owner_http.post(
            "/account/two-factor",
            data={"csrf": token, "action": "disable", "password": password, "code": code},
        )

    assert off("wrong password!", code).status_code == 400
    assert off(PASSWORD, "000000" if code != "000000" else "999999").status_code == 400
    assert server.store.get_user(owner.id).totp_secret == secret  # still on
    done = off(PASSWORD, codes[0])
    assert done.status_code == 303 and done.headers["location"] == "/account?done=two-factor-off"
    assert server.store.get_user(owner.id).totp_secret is None
    assert server.store.count_recovery_codes(owner.id) == 0
    with httpx.Client(base_url=server.url, timeout=10) as browser:
        resp = log_in(browser, owner.email)
        assert resp.status_code == 303 and resp.headers["location"] == "/apps"


def test_two_factor_forms_need_the_csrf_token(
    server: LiveServer, owner: User, owner_http: httpx.Client
) -> None:
    assert owner_http.post("/account/two-factor", data={"action": "start"}).status_code == 403
    cross = owner_http.post(
        "/account/two-factor",
        data={"action": "start", "csrf": csrf(owner_http, "/account")},
        headers={"Origin": "https://evil.example"},
    )
    assert cross.status_code == 403
    bad = owner_http.post(
        "/account/two-factor", data={"action": "x", "csrf": csrf(owner_http, "/account")}
    )
    assert bad.status_code == 400
