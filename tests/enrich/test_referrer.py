"""Referrer → host, named source and medium; the host table is data shipped in the package."""

from __future__ import annotations

import pytest

from footfall.enrich.referrer import MEDIUMS, ReferrerClassifier, ReferrerStep, ReferrerTable
from footfall.model import App, Context, Hit

APP = App(id="00000000-0000-4000-8000-000000000001", name="t", url="https://www.site.example")


@pytest.fixture(scope="module")
def classifier() -> ReferrerClassifier:
    return ReferrerClassifier()


@pytest.mark.parametrize(
    ("referrer", "host", "source", "medium"),
    [
        ("https://www.google.com/", "google.com", "Google", "search"),
        ("https://www.google.co.uk/", "google.co.uk", "Google", "search"),
        ("https://www.google.com.br/search?q=x", "google.com.br", "Google", "search"),
        ("https://www.bing.com/search?q=footfall", "bing.com", "Bing", "search"),
        ("https://duckduckgo.com/", "duckduckgo.com", "DuckDuckGo", "search"),
        ("https://search.brave.com/search?q=x", "search.brave.com", "Brave Search", "search"),
        ("https://yandex.ru/search/?text=x", "yandex.ru", "Yandex", "search"),
        ("android-app://com.google.android.googlequicksearchbox/", "com.google.android.googlequicksearchbox", "Google", "search"),
        ("https://chatgpt.com/", "chatgpt.com", "ChatGPT", "ai"),
        ("https://www.perplexity.ai/search/abc", "perplexity.ai", "Perplexity", "ai"),
        ("https://claude.ai/chat/1", "claude.ai", "Claude", "ai"),
        ("https://gemini.google.com/app", "gemini.google.com", "Gemini", "ai"),
        ("https://copilot.microsoft.com/", "copilot.microsoft.com", "Microsoft Copilot", "ai"),
        ("https://l.facebook.com/l.php?u=x", "l.facebook.com", "Facebook", "social"),
        ("https://m.facebook.com/", "m.facebook.com", "Facebook", "social"),
        ("https://t.co/abc", "t.co", "X", "social"),
        ("https://www.reddit.com/r/python/", "reddit.com", "Reddit", "social"),
        ("https://news.ycombinator.com/item?id=1", "news.ycombinator.com", "Hacker News", "social"),
        ("https://www.linkedin.com/feed/", "linkedin.com", "LinkedIn", "social"),
        ("https://mail.google.com/mail/u/0/", "mail.google.com", "Gmail", "email"),
        ("android-app://com.google.android.gm/", "com.google.android.gm", "Gmail", "email"),
        ("https://outlook.live.com/mail/0/", "outlook.live.com", "Outlook", "email"),
        ("https://github.com/org/repo", "github.com", "GitHub", "referral"),
        ("https://en.wikipedia.org/wiki/Web_analytics", "en.wikipedia.org", "Wikipedia", "referral"),
        ("https://blog.example.org/post", "blog.example.org", None, "referral"),
        ("https://googleusercontent.com/x", "googleusercontent.com", None, "referral"),
        ("not a url", None, None, "direct"),
    ],
)  # fmt: skip
def test_known_and_unknown_referrers(
    classifier: ReferrerClassifier, referrer: str, host: str | None, source: str | None, medium: str
) -> None:
    assert tuple(classifier.classify(referrer)) == (host, source, medium)


def step(referrer: str | None, hostname: str | None = "www.site.example") -> Hit:
    hit = Hit(referrer=referrer, hostname=hostname)
    ReferrerStep(ReferrerClassifier())(hit, Context(), APP)
    return hit


def test_no_referrer_is_direct() -> None:
    hit = step(None)
    assert (hit.referrer_host, hit.source, hit.medium) == (None, None, "direct")


def test_a_referrer_on_the_same_site_is_internal() -> None:
    hit = step("https://www.site.example/blog/")
    assert (hit.referrer_host, hit.source, hit.medium) == ("site.example", None, "internal")
    hit = step("https://site.example/", hostname=None)  # the app's own host, without www
    assert hit.medium == "internal"
    assert step("https://shop.site.example/").medium == "referral"


def test_the_shipped_table_is_well_formed() -> None:
    table = ReferrerTable.builtin()
    assert len(table.exact) > 100
    assert {s.medium for s in table.exact.values()} <= set(MEDIUMS)
    assert all(host == host.lower() and "/" not in host for host in table.exact)


def test_a_host_listed_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="listed twice"):
        ReferrerTable({"search": {"A": ["a.example"]}, "social": {"B": ["a.example"]}})
    with pytest.raises(ValueError, match="unknown medium"):
        ReferrerTable({"paid": {"A": ["a.example"]}})


def test_the_cache_key_is_the_referring_host_not_the_page(classifier: ReferrerClassifier) -> None:
    part = classifier.host_part
    assert part("https://www.google.com/search?q=private+words") == "https://www.google.com"
    assert part("https://t.co?x=1") == "https://t.co"
    assert part("android-app://com.google.android.gm/") == "android-app://com.google.android.gm"
    assert part("https://user@host.example:8443/x") == "https://user@host.example:8443"
    assert part("no scheme at all") == "no scheme at all"
    assert len(part("https://" + "a" * 5000)) == 300
