"""Accounts in a real browser (Debian's Chromium through Playwright): an invitation from the
users page accepted and logged in with, a password change, and two-factor login — enrolling
from the QR page, logging in with a code, then with a recovery code."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest

from footfall.clock import FrozenClock
from footfall.dashboard.accounts import Accounts
from footfall.dashboard.site import DashboardOptions
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.dashboard.conftest import CHEAP_ARGON2
from tests.dashboard.helpers import PASSWORD
from tests.live import LiveServer, live_server

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM), reason=f"needs Debian's Chromium at {CHROMIUM}"
    ),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (dev extra)")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[LiveServer]:
    options = DashboardOptions(password_hasher=CHEAP_ARGON2)
    with live_server(tmp_path / "f.duckdb", clock=FrozenClock(), dashboard=options) as srv:
        Accounts(srv.store, srv.clock, CHEAP_ARGON2).create_user(
            "owner@example.com", PASSWORD, role="owner"
        )
        yield srv


@pytest.fixture
def new_page(browser: Any, site: LiveServer) -> Iterator[Any]:
    contexts: list[Any] = []

    def make() -> Any:
        context = browser.new_context(base_url=site.url, viewport={"width": 1100, "height": 900})
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def log_in(page: Any, email: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def test_an_invitation_is_made_accepted_and_logged_in_with(site: LiveServer, new_page: Any) -> None:
    owner = new_page()
    app = site.create_app(name="Blog")
    log_in(owner, "owner@example.com")
    owner.wait_for_url("**/apps")
    owner.click("text=Users")
    owner.wait_for_url("**/users")
    invite = owner.locator("#invite")
    invite.locator("input[name=email]").fill("ann@example.com")
    invite.locator("label.check", has_text="Blog").locator("input").check()
    invite.locator("button[type=submit]").click()
    link = owner.locator("#invite-link").inner_text().strip()
    assert "/invite/" in link
    assert owner.locator("[data-invite='ann@example.com']").count() == 1

    ann = new_page()
    ann.goto(link)
    assert ann.locator("#invite-email").inner_text() == "ann@example.com"
    assert "At least 10 characters." in ann.content()
    ann.fill("input[name=password]", "anns own password")
    ann.fill("input[name=again]", "anns own password")
    ann.click("button[type=submit]")
    ann.wait_for_url("**/login?notice=joined*")
    assert ann.locator("input[name=email]").input_value() == "ann@example.com"
    ann.fill("input[name=password]", "anns own password")
    ann.click("button[type=submit]")
    ann.wait_for_url("**/apps")
    assert ann.locator(f"a[href='/apps/{app.id}']").count() >= 1
    assert ann.locator("a[href='/users']").count() == 0  # a viewer

    ann.goto(link)  # the link worked once
    assert "expired or was used already" in ann.content()
    owner.goto("/users")
    assert owner.locator("[data-user='ann@example.com']").count() == 1


def test_a_password_change_in_the_browser(site: LiveServer, new_page: Any) -> None:
    page = new_page()
    log_in(page, "owner@example.com")
    page.wait_for_url("**/apps")
    page.click("text=Account")
    page.wait_for_url("**/account")
    assert "At least 10 characters." in page.locator("#password-rule").inner_text()
    page.fill("input[name=current]", "not the password")
    page.fill("input[name=new]", "the new password!")
    page.fill("input[name=again]", "the new password!")
    page.click("#password button[type=submit]")
    assert "current password is not right" in page.locator("#password-error").inner_text()
    page.fill("input[name=current]", PASSWORD)
    page.fill("input[name=new]", "the new password!")
    page.fill("input[name=again]", "the new password!")
    page.click("#password button[type=submit]")
    page.wait_for_url("**/account?done=password")
    assert "Your password is changed" in page.content()

    again = new_page()
    log_in(again, "owner@example.com")  # the old one no longer works
    assert "Wrong email or password." in again.content()
    log_in(again, "owner@example.com", "the new password!")
    again.wait_for_url("**/apps")


def test_two_factor_enrolment_then_logins_with_a_code_and_with_a_recovery_code(
    site: LiveServer, new_page: Any
) -> None:
    clock = site.clock
    assert isinstance(clock, FrozenClock)
    page = new_page()
    log_in(page, "owner@example.com")
    page.wait_for_url("**/apps")
    page.goto("/account")
    page.click("text=Set up two-factor login")
    qr = page.locator("img.qr")
    assert qr.get_attribute("src").startswith("data:image/svg+xml")
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")  # the SVG draws
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    totp = pyotp.TOTP(secret)
    page.fill("input[name=code]", totp.at(clock.now_ms() // 1000))
    page.click("text=Turn on two-factor login")
    codes = page.locator("#recovery-codes code").all_inner_texts()
    assert len(codes) == 10

    clock.advance(seconds=30)
    second = new_page()
    log_in(second, "owner@example.com")
    second.wait_for_url("**/login/code*")
    second.fill(
        "input[name=code]", "000000" if totp.at(clock.now_ms() // 1000) != "000000" else "111111"
    )
    second.click("button[type=submit]")
    assert "That code is not right." in second.content()
    second.fill("input[name=code]", totp.at(clock.now_ms() // 1000))
    second.click("button[type=submit]")
    second.wait_for_url("**/apps")

    third = new_page()
    log_in(third, "owner@example.com")
    third.wait_for_url("**/login/code*")
    third.fill("input[name=code]", codes[0])
    third.click("button[type=submit]")
    third.wait_for_url("**/apps")
    third.goto("/account")
    assert "9 recovery codes left" in third.content()
