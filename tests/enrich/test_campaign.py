"""utm_* parameters and click ids from the page URL."""

from __future__ import annotations

from footfall.enrich.campaign import CampaignStep, campaign_params
from footfall.model import App, Context, Hit

APP = App(id="00000000-0000-4000-8000-000000000001", name="t")


def run(
    url: str | None,
    *,
    medium: str | None = "direct",
    source: str | None = None,
    page_header: str | None = None,
) -> Hit:
    hit = Hit(url=url, medium=medium, source=source)
    headers = {"referer": page_header} if page_header else {}
    CampaignStep()(hit, Context(headers=headers), APP)
    return hit


def test_utm_parameters_fill_their_columns_and_the_source() -> None:
    hit = run(
        "https://site.example/sale?utm_source=newsletter&utm_medium=Email&utm_campaign=spring-sale"
        "&utm_term=shoes&utm_content=top%20banner#x"
    )
    assert (hit.utm_source, hit.utm_medium, hit.utm_campaign, hit.utm_term, hit.utm_content) == (
        "newsletter",
        "Email",
        "spring-sale",
        "shoes",
        "top banner",
    )
    assert (hit.source, hit.medium) == ("newsletter", "email")


def test_utm_source_alone_keeps_the_referrer_medium() -> None:
    hit = run("https://site.example/?utm_source=mastodon", medium="social", source="Mastodon")
    assert (hit.source, hit.medium, hit.utm_medium) == ("mastodon", "social", None)


def test_click_ids_name_their_network() -> None:
    hit = run("https://site.example/?gclid=abc")
    assert (hit.source, hit.medium) == ("Google", "paid")
    hit = run("https://site.example/?msclkid=abc")
    assert (hit.source, hit.medium) == ("Bing", "paid")
    hit = run("https://site.example/?fbclid=IwAR0", medium="social", source="Facebook")
    assert (hit.source, hit.medium) == ("Facebook", "social")
    hit = run("https://site.example/?fbclid=IwAR0")
    assert (hit.source, hit.medium) == ("Facebook", "social")


def test_utm_wins_over_a_click_id() -> None:
    hit = run("https://site.example/?gclid=abc&utm_source=google&utm_medium=cpc&utm_campaign=brand")
    assert (hit.source, hit.medium, hit.utm_campaign) == ("google", "cpc", "brand")


def test_no_campaign_changes_nothing() -> None:
    hit = run("https://site.example/pricing?plan=pro", medium="search", source="Google")
    assert (hit.source, hit.medium, hit.utm_source) == ("Google", "search", None)
    assert run(None).utm_source is None


def test_the_pixel_page_header_stands_in_for_a_missing_url() -> None:
    hit = run(None, page_header="https://site.example/?utm_campaign=launch")
    assert hit.utm_campaign == "launch"


def test_values_are_capped_and_cleaned() -> None:
    params = campaign_params(
        "https://x.example/?UTM_SOURCE=a%00b&utm_campaign=" + "c" * 500 + "&utm_term="
    )
    assert params["utm_source"] == "ab"
    assert "utm_term" not in params
    hit = run("https://x.example/?utm_campaign=" + "c" * 500)
    assert hit.utm_campaign == "c" * 128
