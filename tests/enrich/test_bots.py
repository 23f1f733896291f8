"""Bots are named (and stored, flagged); real browsers are never taken for bots."""

from __future__ import annotations

import pytest

from footfall.enrich.bots import EMPTY_UA_BOT, KNOWN_BOTS, BotDetector, BotStep
from footfall.enrich.useragent import UserAgentParser
from footfall.model import App, Context, Hit
from tests.enrich.agents import BOTS, BROWSERS, MORE_BROWSERS


@pytest.fixture(scope="module")
def detector() -> BotDetector:
    return BotDetector(UserAgentParser())


@pytest.mark.parametrize("name", sorted(BOTS))
def test_bots_are_named(detector: BotDetector, name: str) -> None:
    ua, expected = BOTS[name]
    assert detector.name(ua) == expected


@pytest.mark.parametrize("ua", [b[0] for b in BROWSERS.values()] + list(MORE_BROWSERS))
def test_real_browsers_are_not_bots(detector: BotDetector, ua: str) -> None:
    assert detector.name(ua) is None


@pytest.mark.parametrize("ua", ["", "   "])
def test_an_empty_user_agent_is_a_bot(detector: BotDetector, ua: str) -> None:
    assert detector.name(ua) == EMPTY_UA_BOT


def test_bot_names_fit_the_column_and_are_unique() -> None:
    names = [name for name, _ in KNOWN_BOTS]
    assert len(names) == len(set(names))
    assert all(0 < len(n) <= 64 for n in names)


def test_the_step_flags_the_hit_and_keeps_it(detector: BotDetector) -> None:
    ua = BOTS["gptbot"][0]
    hit = Hit(user_agent=ua, device="desktop")
    reason = BotStep(detector)(hit, Context(user_agent=ua), App(id="a", name="a"))
    assert reason is None
    assert (hit.bot, hit.device) == ("GPTBot", "bot")
    browser = BROWSERS["chrome-windows"][0]
    hit = Hit(user_agent=browser, device="desktop")
    BotStep(detector)(hit, Context(user_agent=browser), App(id="a", name="a"))
    assert (hit.bot, hit.device) == (None, "desktop")
