"""Country names and flags for the ISO 3166-1 alpha-2 codes footfall stores (``visit:country``).

Names come from ``pycountry`` (the ISO 3166 data of Debian's iso-codes), in their common English
form where ISO's official one is long ("South Korea", not "Korea, Republic of"). The flag is the
code's two regional indicator symbols, which browsers and terminals draw as the flag emoji. A code
that is not a country (a registry's "EU" or "AP", a filter's typo) is shown as it is.
"""

from __future__ import annotations

import pycountry

# the first regional indicator symbol, U+1F1E6 (A); the flag of XY is the symbols of X and Y
_INDICATOR_A = 0x1F1E6


def country_name(code: str) -> str | None:
    """The English name of a country code, any case; None when it is not one."""
    if len(code) != 2 or not code.isascii() or not code.isalpha():
        return None
    country = pycountry.countries.get(alpha_2=code.upper())
    if country is None:
        return None
    return str(getattr(country, "common_name", None) or country.name)


def flag(code: str) -> str:
    """The flag emoji of a two-letter code (letters A-Z only; else "")."""
    if len(code) != 2 or not code.isascii() or not code.isalpha():
        return ""
    return "".join(chr(_INDICATOR_A + ord(c) - ord("A")) for c in code.upper())


def country_label(code: str) -> str:
    """``🇩🇪 Germany`` for ``DE``; the code itself when it names no country."""
    name = country_name(code)
    return f"{flag(code)} {name}" if name else code
