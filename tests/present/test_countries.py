"""Country names and flags, from pycountry's ISO 3166 data; codes that are not countries as they are."""

from __future__ import annotations

from footfall.model import App
from footfall.present.countries import country_label, country_name, flag
from footfall.present.text import breakdown_text


def test_a_country_code_is_its_flag_and_common_name() -> None:
    assert country_label("DE") == "🇩🇪 Germany"
    assert country_label("kr") == "🇰🇷 South Korea"  # not ISO's "Korea, Republic of"
    assert country_name("GB") == "United Kingdom" and flag("GB") == "\U0001f1ec\U0001f1e7"


def test_what_is_not_a_country_code_is_shown_as_it_is() -> None:
    for text in ("EU", "ZZ", "", "D", "DEU", "Ａ1", "1A", "<b>"):
        assert country_label(text) == text
        assert country_name(text) is None
    assert flag("12") == "" and flag("DEU") == ""


def test_the_cli_breakdown_by_country_names_them_beside_the_code() -> None:
    app = App(id="a1", name="Blog")
    rows = [{"country": "DE", "visitors": 2}, {"country": "EU", "visitors": 1}]
    text = breakdown_text(app, "30d", "visit:country", ["visitors"], rows)
    assert "🇩🇪 Germany (DE)" in text and "  EU " in text
    pages = breakdown_text(app, "30d", "event:page", ["visitors"], [{"page": "DE", "visitors": 1}])
    assert "Germany" not in pages  # only the country dimension is named
