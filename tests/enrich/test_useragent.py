"""User agent → browser, OS and device class, refined by client hints; cached per user agent."""

from __future__ import annotations

import pytest

from footfall.enrich.useragent import (
    UserAgentParser,
    UserAgentStep,
    is_accelerated,
    parser_implementation,
)
from footfall.model import App, Context, Hit
from tests.enrich.agents import BROWSERS

APP = App(id="00000000-0000-4000-8000-000000000001", name="t")


@pytest.fixture(scope="module")
def parser() -> UserAgentParser:
    return UserAgentParser()


@pytest.mark.parametrize("name", sorted(BROWSERS))
def test_real_user_agents(parser: UserAgentParser, name: str) -> None:
    ua, browser, major, os, os_version, device = BROWSERS[name]
    info = parser.parse(ua)
    assert (info.browser, info.browser_version, info.os, info.os_version, info.device) == (
        browser,
        major,
        os,
        os_version,
        device,
    )


def test_the_accelerator_is_active_and_named() -> None:
    assert is_accelerated()
    assert "google-re2" in parser_implementation()


def test_repeated_user_agents_come_from_the_cache(parser: UserAgentParser) -> None:
    ua = BROWSERS["chrome-windows"][0]
    first = parser.parse(ua)
    assert parser.parse(ua) is first


def test_empty_and_garbage_user_agents_give_other(parser: UserAgentParser) -> None:
    assert parser.parse("")[:5] == (None, None, None, None, "other")
    assert parser.parse("\x00\xff????")[4] == "other"


def run_step(parser: UserAgentParser, ua: str, headers: dict[str, str]) -> Hit:
    hit = Hit(user_agent=ua)
    ctx = Context(user_agent=ua, headers={"user-agent": ua, **headers})
    UserAgentStep(parser)(hit, ctx, APP)
    return hit


def test_client_hints_reveal_windows_11_and_brave(parser: UserAgentParser) -> None:
    ua = BROWSERS["chrome-windows"][0]
    hints = {
        "sec-ch-ua": '"Brave";v="131", "Chromium";v="131", "Not_A Brand";v="24"',
        "sec-ch-ua-mobile": "?0",
        "sec-ch-ua-platform": '"Windows"',
        "sec-ch-ua-platform-version": '"15.0.0"',
    }
    hit = run_step(parser, ua, hints)
    assert (hit.browser, hit.browser_version, hit.os, hit.os_version, hit.device) == (
        "Brave",
        "131",
        "Windows",
        "11",
        "desktop",
    )


def test_client_hints_give_the_real_android_version(parser: UserAgentParser) -> None:
    ua = BROWSERS["chrome-android-reduced"][0]  # Chrome says "Android 10; K" whatever the phone
    hints = {
        "sec-ch-ua": '"Google Chrome";v="131", "Chromium";v="131", "Not_A Brand";v="24"',
        "sec-ch-ua-mobile": "?1",
        "sec-ch-ua-platform": '"Android"',
        "sec-ch-ua-platform-version": '"14.0.0"',
    }
    hit = run_step(parser, ua, hints)
    assert (hit.browser, hit.os, hit.os_version, hit.device) == (
        "Chrome Mobile",
        "Android",
        "14",
        "mobile",
    )


def test_low_entropy_hints_alone_change_nothing_for_chrome(parser: UserAgentParser) -> None:
    ua = BROWSERS["chrome-windows"][0]
    hints = {
        "sec-ch-ua": '"Google Chrome";v="131", "Chromium";v="131", "Not_A Brand";v="24"',
        "sec-ch-ua-mobile": "?0",
        "sec-ch-ua-platform": '"Windows"',
    }
    hit = run_step(parser, ua, hints)
    assert (hit.browser, hit.browser_version, hit.os, hit.os_version) == (
        "Chrome",
        "131",
        "Windows",
        "10",
    )


def test_hints_are_ignored_for_a_user_agent_the_request_did_not_send(
    parser: UserAgentParser,
) -> None:
    """A server forwarding a visitor's user agent sends its own hints, if any."""
    ua = BROWSERS["safari-iphone"][0]
    hit = Hit(user_agent=ua)
    # as the Measurement Protocol receiver builds it: the forwarded agent, the sender's headers
    ctx = Context(
        user_agent=ua,
        headers={"user-agent": "python-requests/2.32.3", "sec-ch-ua": '"Brave";v="1"'},
    )
    UserAgentStep(parser)(hit, ctx, APP)
    assert (hit.browser, hit.device) == ("Mobile Safari", "mobile")
